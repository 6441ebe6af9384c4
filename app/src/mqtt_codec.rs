//! MQTT 3.1.1 packet codec for the console's MQTT-over-WebSocket client.
//!
//! Why hand-written: no maintained MQTT codec crate targets wasm32 without tokio (rumqttc and
//! its codec are built around tokio's I/O traits; mqttbytes, the stand-alone codec, is deprecated
//! and unmaintained). The browser needs a small subset of the protocol — CONNECT, CONNACK,
//! SUBSCRIBE, SUBACK, incoming PUBLISH at QoS 0 and 1 with PUBACK, PINGREQ/PINGRESP and
//! DISCONNECT — and a few hundred lines of checked code cost less wasm than a general library.
//!
//! This module has no browser dependency so that its tests run on the host
//! (`cargo test -p boxpilot-app`). Everything read from the network is bounds-checked: a
//! malformed or oversized frame is an error, never a panic or an unbounded buffer.

use std::fmt;

/// The largest remaining length MQTT can express (four varint bytes).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// A sensible limit for the console: the device contract caps payloads at 128 KiB, plus room for
/// the topic and header.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 128 * 1024 + 1024;

const PROTOCOL_NAME: &[u8] = b"MQTT";
const PROTOCOL_LEVEL_3_1_1: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QoS {
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    fn from_bits(bits: u8) -> Result<QoS, CodecError> {
        match bits {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            _ => Err(CodecError::Malformed("QoS 3 is reserved")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub client_id: String,
    pub username: Option<String>,
    /// Binary in MQTT; the console sends a signed token.
    pub password: Option<Vec<u8>>,
    pub keep_alive_secs: u16,
    pub clean_session: bool,
}

/// The CONNACK return codes of MQTT 3.1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectReturnCode {
    Accepted = 0,
    UnacceptableProtocolVersion = 1,
    IdentifierRejected = 2,
    ServerUnavailable = 3,
    BadUsernameOrPassword = 4,
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    fn from_byte(byte: u8) -> Result<Self, CodecError> {
        Ok(match byte {
            0 => Self::Accepted,
            1 => Self::UnacceptableProtocolVersion,
            2 => Self::IdentifierRejected,
            3 => Self::ServerUnavailable,
            4 => Self::BadUsernameOrPassword,
            5 => Self::NotAuthorized,
            _ => return Err(CodecError::Malformed("unknown CONNACK return code")),
        })
    }
}

impl fmt::Display for ConnectReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Accepted => "accepted",
            Self::UnacceptableProtocolVersion => "unacceptable protocol version",
            Self::IdentifierRejected => "client identifier rejected",
            Self::ServerUnavailable => "broker unavailable",
            Self::BadUsernameOrPassword => "bad username or password",
            Self::NotAuthorized => "not authorized",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    pub code: ConnectReturnCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    /// Present exactly when `qos` is above 0.
    pub packet_id: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: u16,
    pub filters: Vec<(String, QoS)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeReturnCode {
    Granted(QoS),
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: u16,
    pub return_codes: Vec<SubscribeReturnCode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck { packet_id: u16 },
    Subscribe(Subscribe),
    SubAck(SubAck),
    PingReq,
    PingResp,
    Disconnect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The bytes break a rule of MQTT 3.1.1.
    Malformed(&'static str),
    /// A packet type this codec does not handle (QoS 2 flow, UNSUBSCRIBE...).
    Unsupported(u8),
    /// The frame announces more bytes than the configured maximum.
    PacketTooLarge { size: usize, max: usize },
    /// A value to encode does not fit the protocol (string over 64 KiB, packet over 256 MiB...).
    CannotEncode(&'static str),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Malformed(why) => write!(f, "malformed MQTT packet: {why}"),
            CodecError::Unsupported(kind) => write!(f, "unsupported MQTT packet type {kind}"),
            CodecError::PacketTooLarge { size, max } => {
                write!(f, "MQTT packet of {size} bytes exceeds the limit of {max}")
            }
            CodecError::CannotEncode(why) => write!(f, "cannot encode MQTT packet: {why}"),
        }
    }
}

impl std::error::Error for CodecError {}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Appends the variable-length "remaining length" (7 bits per byte, high bit = more follows).
pub fn encode_remaining_length(mut len: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if len > MAX_REMAINING_LENGTH {
        return Err(CodecError::CannotEncode(
            "remaining length over 268,435,455 bytes",
        ));
    }
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return Ok(());
        }
    }
}

fn put_u16(value: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_bytes(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| CodecError::CannotEncode("string or binary field over 65,535 bytes"))?;
    put_u16(len, out);
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_str(value: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if value.contains('\0') {
        return Err(CodecError::CannotEncode("string contains U+0000"));
    }
    put_bytes(value.as_bytes(), out)
}

fn nonzero_packet_id(id: u16) -> Result<u16, CodecError> {
    if id == 0 {
        Err(CodecError::CannotEncode("packet identifier 0"))
    } else {
        Ok(id)
    }
}

fn has_wildcard(topic: &str) -> bool {
    topic.contains(['+', '#'])
}

impl Packet {
    /// The packet type's name, for logs and errors (a payload is never printed).
    pub fn name(&self) -> &'static str {
        match self {
            Packet::Connect(_) => "CONNECT",
            Packet::ConnAck(_) => "CONNACK",
            Packet::Publish(_) => "PUBLISH",
            Packet::PubAck { .. } => "PUBACK",
            Packet::Subscribe(_) => "SUBSCRIBE",
            Packet::SubAck(_) => "SUBACK",
            Packet::PingReq => "PINGREQ",
            Packet::PingResp => "PINGRESP",
            Packet::Disconnect => "DISCONNECT",
        }
    }

    /// Appends the packet's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut body = Vec::new();
        let first_byte = match self {
            Packet::Connect(c) => {
                put_bytes(PROTOCOL_NAME, &mut body)?;
                body.push(PROTOCOL_LEVEL_3_1_1);
                if c.password.is_some() && c.username.is_none() {
                    // 3.1.1 §3.1.2.9: a password requires a username.
                    return Err(CodecError::CannotEncode("password without username"));
                }
                let mut flags = 0u8;
                if c.clean_session {
                    flags |= 0x02;
                }
                if c.password.is_some() {
                    flags |= 0x40;
                }
                if c.username.is_some() {
                    flags |= 0x80;
                }
                body.push(flags);
                put_u16(c.keep_alive_secs, &mut body);
                put_str(&c.client_id, &mut body)?;
                if let Some(username) = &c.username {
                    put_str(username, &mut body)?;
                }
                if let Some(password) = &c.password {
                    put_bytes(password, &mut body)?;
                }
                0x10
            }
            Packet::ConnAck(a) => {
                body.push(u8::from(a.session_present));
                body.push(a.code as u8);
                0x20
            }
            Packet::Publish(p) => {
                if p.topic.is_empty() || has_wildcard(&p.topic) {
                    return Err(CodecError::CannotEncode(
                        "publish topic empty or with wildcards",
                    ));
                }
                put_str(&p.topic, &mut body)?;
                match (p.qos, p.packet_id) {
                    (QoS::AtMostOnce, None) if !p.dup => {}
                    (QoS::AtMostOnce, _) => {
                        return Err(CodecError::CannotEncode("QoS 0 publish with id or dup"))
                    }
                    (_, Some(id)) => put_u16(nonzero_packet_id(id)?, &mut body),
                    (_, None) => {
                        return Err(CodecError::CannotEncode("QoS > 0 publish without id"))
                    }
                }
                body.extend_from_slice(&p.payload);
                0x30 | (u8::from(p.dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
            }
            Packet::PubAck { packet_id } => {
                put_u16(nonzero_packet_id(*packet_id)?, &mut body);
                0x40
            }
            Packet::Subscribe(s) => {
                if s.filters.is_empty() {
                    return Err(CodecError::CannotEncode("SUBSCRIBE without topic filters"));
                }
                put_u16(nonzero_packet_id(s.packet_id)?, &mut body);
                for (filter, qos) in &s.filters {
                    if filter.is_empty() {
                        return Err(CodecError::CannotEncode("empty topic filter"));
                    }
                    put_str(filter, &mut body)?;
                    body.push(*qos as u8);
                }
                0x82
            }
            Packet::SubAck(s) => {
                put_u16(nonzero_packet_id(s.packet_id)?, &mut body);
                for code in &s.return_codes {
                    body.push(match code {
                        SubscribeReturnCode::Granted(qos) => *qos as u8,
                        SubscribeReturnCode::Failure => 0x80,
                    });
                }
                0x90
            }
            Packet::PingReq => 0xC0,
            Packet::PingResp => 0xD0,
            Packet::Disconnect => 0xE0,
        };
        out.push(first_byte);
        encode_remaining_length(body.len(), out)?;
        out.extend_from_slice(&body);
        Ok(())
    }

    /// The packet as one buffer, ready for a WebSocket binary message.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Reads the remaining length at the start of `bytes`: `Ok(None)` when more bytes are needed,
/// otherwise the length and how many bytes encoded it.
pub fn decode_remaining_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
    let mut value = 0usize;
    for (index, byte) in bytes.iter().enumerate().take(4) {
        value += usize::from(byte & 0x7F) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(Some((value, index + 1)));
        }
    }
    if bytes.len() >= 4 {
        Err(CodecError::Malformed(
            "remaining length longer than four bytes",
        ))
    } else {
        Ok(None)
    }
}

/// A bounds-checked cursor over one packet's body.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.bytes.len() {
            return Err(CodecError::Malformed(
                "field runs past the end of the packet",
            ));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn binary(&mut self) -> Result<&'a [u8], CodecError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    fn string(&mut self) -> Result<String, CodecError> {
        let text = std::str::from_utf8(self.binary()?)
            .map_err(|_| CodecError::Malformed("string is not valid UTF-8"))?;
        if text.contains('\0') {
            return Err(CodecError::Malformed("string contains U+0000"));
        }
        Ok(text.to_owned())
    }

    fn packet_id(&mut self) -> Result<u16, CodecError> {
        match self.u16()? {
            0 => Err(CodecError::Malformed("packet identifier 0")),
            id => Ok(id),
        }
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    fn finish(&self) -> Result<(), CodecError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(CodecError::Malformed(
                "unexpected bytes after the packet's fields",
            ))
        }
    }
}

fn expect_flags(flags: u8, expected: u8) -> Result<(), CodecError> {
    if flags == expected {
        Ok(())
    } else {
        Err(CodecError::Malformed("reserved fixed-header flags"))
    }
}

/// Decodes one packet from the start of `bytes`: `Ok(None)` when the frame is incomplete,
/// otherwise the packet and the number of bytes it used. A frame announcing more than
/// `max_packet_size` bytes is refused as soon as its header is read.
pub fn decode_packet(
    bytes: &[u8],
    max_packet_size: usize,
) -> Result<Option<(Packet, usize)>, CodecError> {
    let Some(&first_byte) = bytes.first() else {
        return Ok(None);
    };
    let Some((remaining, length_bytes)) = decode_remaining_length(&bytes[1..])? else {
        return Ok(None);
    };
    let size = 1 + length_bytes + remaining;
    if size > max_packet_size {
        return Err(CodecError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    if bytes.len() < size {
        return Ok(None);
    }
    let body = &bytes[1 + length_bytes..size];
    let packet = decode_body(first_byte, body)?;
    Ok(Some((packet, size)))
}

fn decode_body(first_byte: u8, body: &[u8]) -> Result<Packet, CodecError> {
    let kind = first_byte >> 4;
    let flags = first_byte & 0x0F;
    let mut r = Reader { bytes: body };
    let packet = match kind {
        1 => {
            expect_flags(flags, 0)?;
            decode_connect(&mut r)?
        }
        2 => {
            expect_flags(flags, 0)?;
            let ack_flags = r.u8()?;
            if ack_flags & 0xFE != 0 {
                return Err(CodecError::Malformed("reserved CONNACK flags"));
            }
            let code = ConnectReturnCode::from_byte(r.u8()?)?;
            Packet::ConnAck(ConnAck {
                session_present: ack_flags & 1 == 1,
                code,
            })
        }
        3 => {
            let qos = QoS::from_bits((flags >> 1) & 0b11)?;
            let dup = flags & 0b1000 != 0;
            if dup && qos == QoS::AtMostOnce {
                return Err(CodecError::Malformed("DUP set on a QoS 0 publish"));
            }
            let topic = r.string()?;
            if topic.is_empty() || has_wildcard(&topic) {
                return Err(CodecError::Malformed(
                    "publish topic empty or with wildcards",
                ));
            }
            let packet_id = match qos {
                QoS::AtMostOnce => None,
                _ => Some(r.packet_id()?),
            };
            Packet::Publish(Publish {
                topic,
                payload: r.rest().to_vec(),
                qos,
                retain: flags & 1 == 1,
                dup,
                packet_id,
            })
        }
        4 => {
            expect_flags(flags, 0)?;
            Packet::PubAck {
                packet_id: r.packet_id()?,
            }
        }
        8 => {
            expect_flags(flags, 0b0010)?;
            let packet_id = r.packet_id()?;
            let mut filters = Vec::new();
            while !r.bytes.is_empty() {
                let filter = r.string()?;
                if filter.is_empty() {
                    return Err(CodecError::Malformed("empty topic filter"));
                }
                let options = r.u8()?;
                if options & 0xFC != 0 {
                    return Err(CodecError::Malformed("reserved bits in requested QoS"));
                }
                filters.push((filter, QoS::from_bits(options)?));
            }
            if filters.is_empty() {
                return Err(CodecError::Malformed("SUBSCRIBE without topic filters"));
            }
            Packet::Subscribe(Subscribe { packet_id, filters })
        }
        9 => {
            expect_flags(flags, 0)?;
            let packet_id = r.packet_id()?;
            let return_codes = r
                .rest()
                .iter()
                .map(|code| match code {
                    0 => Ok(SubscribeReturnCode::Granted(QoS::AtMostOnce)),
                    1 => Ok(SubscribeReturnCode::Granted(QoS::AtLeastOnce)),
                    2 => Ok(SubscribeReturnCode::Granted(QoS::ExactlyOnce)),
                    0x80 => Ok(SubscribeReturnCode::Failure),
                    _ => Err(CodecError::Malformed("unknown SUBACK return code")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if return_codes.is_empty() {
                return Err(CodecError::Malformed("SUBACK without return codes"));
            }
            Packet::SubAck(SubAck {
                packet_id,
                return_codes,
            })
        }
        12 => {
            expect_flags(flags, 0)?;
            Packet::PingReq
        }
        13 => {
            expect_flags(flags, 0)?;
            Packet::PingResp
        }
        14 => {
            expect_flags(flags, 0)?;
            Packet::Disconnect
        }
        0 | 15 => return Err(CodecError::Malformed("reserved packet type")),
        other => return Err(CodecError::Unsupported(other)),
    };
    r.finish()?;
    Ok(packet)
}

fn decode_connect(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    if r.binary()? != PROTOCOL_NAME {
        return Err(CodecError::Malformed("protocol name is not MQTT"));
    }
    if r.u8()? != PROTOCOL_LEVEL_3_1_1 {
        return Err(CodecError::Malformed(
            "protocol level is not 4 (MQTT 3.1.1)",
        ));
    }
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        return Err(CodecError::Malformed("reserved CONNECT flag"));
    }
    if flags & 0x04 != 0 {
        // The console never sends a will; refuse rather than half-parse one.
        return Err(CodecError::Malformed(
            "CONNECT with a will is not supported",
        ));
    }
    if flags & 0x38 != 0 {
        return Err(CodecError::Malformed("will QoS or retain without a will"));
    }
    let has_username = flags & 0x80 != 0;
    let has_password = flags & 0x40 != 0;
    if has_password && !has_username {
        return Err(CodecError::Malformed("password without username"));
    }
    let keep_alive_secs = r.u16()?;
    let client_id = r.string()?;
    let username = if has_username {
        Some(r.string()?)
    } else {
        None
    };
    let password = if has_password {
        Some(r.binary()?.to_vec())
    } else {
        None
    };
    Ok(Packet::Connect(Connect {
        client_id,
        username,
        password,
        keep_alive_secs,
        clean_session: flags & 0x02 != 0,
    }))
}

/// Reassembles packets from a byte stream whose chunks (WebSocket messages) need not align with
/// packet boundaries: a packet may span several chunks and a chunk may hold several packets.
///
/// After an error the stream is out of sync; the caller must drop the connection.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// Start of the unread bytes in `buffer`; compacted lazily so that a chunk holding many
    /// packets is not shifted once per packet.
    read_from: usize,
    max_packet_size: usize,
}

impl FrameDecoder {
    pub fn new(max_packet_size: usize) -> Self {
        FrameDecoder {
            buffer: Vec::new(),
            read_from: 0,
            max_packet_size,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if self.read_from > 0 {
            self.buffer.drain(..self.read_from);
            self.read_from = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete packet, or `Ok(None)` until more bytes arrive.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, CodecError> {
        match decode_packet(&self.buffer[self.read_from..], self.max_packet_size)? {
            Some((packet, used)) => {
                self.read_from += used;
                if self.read_from == self.buffer.len() {
                    self.buffer.clear();
                    self.read_from = 0;
                }
                Ok(Some(packet))
            }
            None => Ok(None),
        }
    }

    /// Bytes received but not yet decoded.
    pub fn pending(&self) -> usize {
        self.buffer.len() - self.read_from
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_PACKET_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Packet> {
        let mut decoder = FrameDecoder::default();
        decoder.push(bytes);
        let mut packets = Vec::new();
        while let Some(p) = decoder.next_packet().unwrap() {
            packets.push(p);
        }
        assert_eq!(decoder.pending(), 0);
        packets
    }

    fn decode_one(bytes: &[u8]) -> Result<Packet, CodecError> {
        match decode_packet(bytes, DEFAULT_MAX_PACKET_SIZE)? {
            Some((packet, used)) => {
                assert_eq!(used, bytes.len(), "frame not fully used");
                Ok(packet)
            }
            None => panic!("incomplete frame"),
        }
    }

    fn sample_connect() -> Packet {
        Packet::Connect(Connect {
            client_id: "abc".into(),
            username: Some("u".into()),
            password: Some(b"p".to_vec()),
            keep_alive_secs: 60,
            clean_session: true,
        })
    }

    fn sample_publish(qos: QoS) -> Packet {
        Packet::Publish(Publish {
            topic: "dt/boxpilot/f1/box-1/telemetry".into(),
            payload: br#"{"seq":42,"ts":1764489600000,"metrics":{"temp_c":21.5}}"#.to_vec(),
            qos,
            retain: false,
            dup: false,
            packet_id: (qos != QoS::AtMostOnce).then_some(7),
        })
    }

    #[test]
    fn remaining_length_round_trips_at_every_boundary() {
        for (len, width) in [
            (0, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (2_097_151, 3),
            (2_097_152, 4),
            (MAX_REMAINING_LENGTH, 4),
        ] {
            let mut out = Vec::new();
            encode_remaining_length(len, &mut out).unwrap();
            assert_eq!(out.len(), width, "{len}");
            assert_eq!(decode_remaining_length(&out).unwrap(), Some((len, width)));
            // Every strict prefix is merely incomplete.
            assert_eq!(decode_remaining_length(&out[..width - 1]).unwrap(), None);
        }
        assert!(encode_remaining_length(MAX_REMAINING_LENGTH + 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn remaining_length_of_five_bytes_is_malformed() {
        assert!(matches!(
            decode_remaining_length(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(CodecError::Malformed(_))
        ));
        assert!(decode_packet(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], usize::MAX).is_err());
    }

    #[test]
    fn connect_has_the_bytes_of_the_specification() {
        let bytes = sample_connect().to_bytes().unwrap();
        let expected: Vec<u8> = [
            &[0x10, 21][..],
            &[0, 4],
            b"MQTT",
            &[4, 0xC2, 0, 60],
            &[0, 3],
            b"abc",
            &[0, 1],
            b"u",
            &[0, 1],
            b"p",
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn every_packet_round_trips() {
        let packets = vec![
            sample_connect(),
            Packet::Connect(Connect {
                client_id: String::new(),
                username: None,
                password: None,
                keep_alive_secs: 0,
                clean_session: true,
            }),
            Packet::ConnAck(ConnAck {
                session_present: true,
                code: ConnectReturnCode::Accepted,
            }),
            Packet::ConnAck(ConnAck {
                session_present: false,
                code: ConnectReturnCode::NotAuthorized,
            }),
            sample_publish(QoS::AtMostOnce),
            sample_publish(QoS::AtLeastOnce),
            Packet::Publish(Publish {
                topic: "dt/boxpilot/f1/box-1/status".into(),
                payload: Vec::new(),
                qos: QoS::AtLeastOnce,
                retain: true,
                dup: true,
                packet_id: Some(65_535),
            }),
            Packet::PubAck { packet_id: 7 },
            Packet::Subscribe(Subscribe {
                packet_id: 1,
                filters: vec![
                    ("dt/boxpilot/f1/+/+".into(), QoS::AtLeastOnce),
                    ("dt/boxpilot/f2/#".into(), QoS::AtMostOnce),
                ],
            }),
            Packet::SubAck(SubAck {
                packet_id: 1,
                return_codes: vec![
                    SubscribeReturnCode::Granted(QoS::AtLeastOnce),
                    SubscribeReturnCode::Failure,
                ],
            }),
            Packet::PingReq,
            Packet::PingResp,
            Packet::Disconnect,
        ];
        for packet in packets {
            let bytes = packet.to_bytes().unwrap();
            assert_eq!(decode_one(&bytes).unwrap(), packet);
        }
    }

    #[test]
    fn fixed_packets_have_their_wire_form() {
        assert_eq!(Packet::PingReq.to_bytes().unwrap(), [0xC0, 0]);
        assert_eq!(Packet::Disconnect.to_bytes().unwrap(), [0xE0, 0]);
        assert_eq!(
            Packet::PubAck { packet_id: 0x1234 }.to_bytes().unwrap(),
            [0x40, 2, 0x12, 0x34]
        );
        let subscribe = Packet::Subscribe(Subscribe {
            packet_id: 1,
            filters: vec![("a/+".into(), QoS::AtLeastOnce)],
        });
        assert_eq!(
            subscribe.to_bytes().unwrap(),
            [0x82, 8, 0, 1, 0, 3, b'a', b'/', b'+', 1]
        );
    }

    #[test]
    fn decodes_broker_packets_from_raw_bytes() {
        assert_eq!(
            decode_one(&[0x20, 2, 0, 4]).unwrap(),
            Packet::ConnAck(ConnAck {
                session_present: false,
                code: ConnectReturnCode::BadUsernameOrPassword
            })
        );
        assert_eq!(decode_one(&[0xD0, 0]).unwrap(), Packet::PingResp);
        // Retained QoS 1 publish, id 10, topic "a/b", payload "hi".
        let publish = [0x33, 9, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'i'];
        assert_eq!(
            decode_one(&publish).unwrap(),
            Packet::Publish(Publish {
                topic: "a/b".into(),
                payload: b"hi".to_vec(),
                qos: QoS::AtLeastOnce,
                retain: true,
                dup: false,
                packet_id: Some(10),
            })
        );
    }

    #[test]
    fn reassembles_a_packet_split_byte_by_byte() {
        let bytes = sample_publish(QoS::AtLeastOnce).to_bytes().unwrap();
        let mut decoder = FrameDecoder::default();
        for (i, byte) in bytes.iter().enumerate() {
            assert_eq!(
                decoder.next_packet().unwrap(),
                None,
                "complete too early at {i}"
            );
            decoder.push(&[*byte]);
        }
        assert_eq!(
            decoder.next_packet().unwrap(),
            Some(sample_publish(QoS::AtLeastOnce))
        );
        assert_eq!(decoder.next_packet().unwrap(), None);
        assert_eq!(decoder.pending(), 0);
    }

    #[test]
    fn splits_several_packets_in_one_chunk_and_keeps_a_partial_tail() {
        let mut stream = Vec::new();
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        })
        .encode(&mut stream)
        .unwrap();
        sample_publish(QoS::AtMostOnce).encode(&mut stream).unwrap();
        Packet::PingResp.encode(&mut stream).unwrap();
        let whole = stream.len();
        sample_publish(QoS::AtLeastOnce)
            .encode(&mut stream)
            .unwrap();

        let mut decoder = FrameDecoder::default();
        decoder.push(&stream[..whole + 5]);
        let mut got = Vec::new();
        while let Some(p) = decoder.next_packet().unwrap() {
            got.push(p);
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], Packet::PingResp);
        assert_eq!(decoder.pending(), 5);
        decoder.push(&stream[whole + 5..]);
        assert_eq!(
            decoder.next_packet().unwrap(),
            Some(sample_publish(QoS::AtLeastOnce))
        );
        assert_eq!(decode_all(&stream).len(), 4);
    }

    #[test]
    fn refuses_an_oversized_frame_before_buffering_it() {
        let mut decoder = FrameDecoder::new(1024);
        // Header of a publish announcing 1 MiB.
        let mut header = vec![0x30];
        encode_remaining_length(1 << 20, &mut header).unwrap();
        decoder.push(&header);
        assert!(matches!(
            decoder.next_packet(),
            Err(CodecError::PacketTooLarge { .. })
        ));
    }

    #[test]
    fn refuses_fields_running_past_the_packet() {
        // Topic length 10 in a body of 5 bytes.
        assert!(decode_one(&[0x30, 5, 0, 10, b'a', b'b', b'c']).is_err());
        // QoS 1 publish too short for its packet id.
        assert!(decode_one(&[0x32, 4, 0, 2, b'a', b'b']).is_err());
        // CONNACK with one byte.
        assert!(decode_one(&[0x20, 1, 0]).is_err());
    }

    #[test]
    fn refuses_trailing_bytes_and_bad_flags() {
        assert!(
            decode_one(&[0x40, 3, 0, 1, 9]).is_err(),
            "PUBACK with a trailing byte"
        );
        assert!(decode_one(&[0xD0, 1, 0]).is_err(), "PINGRESP with a body");
        assert!(decode_one(&[0xD1, 0]).is_err(), "PINGRESP with flags");
        assert!(
            decode_one(&[0x80, 6, 0, 1, 0, 1, b'a', 0]).is_err(),
            "SUBSCRIBE flags 0"
        );
        assert!(
            decode_one(&[0x20, 2, 2, 0]).is_err(),
            "reserved CONNACK flag"
        );
        assert!(
            decode_one(&[0x20, 2, 0, 6]).is_err(),
            "unknown CONNACK code"
        );
        assert!(
            decode_one(&[0x90, 3, 0, 1, 3]).is_err(),
            "unknown SUBACK code"
        );
        assert!(decode_one(&[0x00, 0]).is_err(), "reserved type 0");
        assert!(matches!(
            decode_one(&[0x50, 2, 0, 1]),
            Err(CodecError::Unsupported(5))
        ));
    }

    #[test]
    fn refuses_invalid_publishes() {
        assert!(decode_one(&[0x36, 5, 0, 1, b'a', 0, 1]).is_err(), "QoS 3");
        assert!(
            decode_one(&[0x32, 5, 0, 1, b'a', 0, 0]).is_err(),
            "packet id 0"
        );
        assert!(decode_one(&[0x38, 3, 0, 1, b'a']).is_err(), "DUP on QoS 0");
        assert!(
            decode_one(&[0x30, 5, 0, 3, b'a', b'/', b'#']).is_err(),
            "wildcard topic"
        );
        assert!(decode_one(&[0x30, 2, 0, 0]).is_err(), "empty topic");
        assert!(
            decode_one(&[0x30, 4, 0, 2, 0xC3, 0x28]).is_err(),
            "invalid UTF-8"
        );
        assert!(decode_one(&[0x30, 3, 0, 1, 0]).is_err(), "U+0000 in topic");
    }

    #[test]
    fn refuses_to_encode_what_the_protocol_cannot_carry() {
        let long = "x".repeat(70_000);
        let mut connect = match sample_connect() {
            Packet::Connect(c) => c,
            _ => unreachable!(),
        };
        connect.client_id = long.clone();
        assert!(Packet::Connect(connect.clone()).to_bytes().is_err());
        connect.client_id = "ok".into();
        connect.username = None;
        assert!(
            Packet::Connect(connect).to_bytes().is_err(),
            "password without username"
        );
        assert!(Packet::PubAck { packet_id: 0 }.to_bytes().is_err());
        assert!(Packet::Subscribe(Subscribe {
            packet_id: 1,
            filters: vec![]
        })
        .to_bytes()
        .is_err());
        let mut publish = match sample_publish(QoS::AtLeastOnce) {
            Packet::Publish(p) => p,
            _ => unreachable!(),
        };
        publish.packet_id = None;
        assert!(Packet::Publish(publish.clone()).to_bytes().is_err());
        publish.packet_id = Some(1);
        publish.topic = "a/+".into();
        assert!(Packet::Publish(publish).to_bytes().is_err());
    }

    #[test]
    fn decodes_a_connect_and_refuses_unsupported_variants() {
        let mut bytes = sample_connect().to_bytes().unwrap();
        assert_eq!(decode_one(&bytes).unwrap(), sample_connect());
        bytes[9] |= 0x04; // will flag
        assert!(decode_one(&bytes).is_err());
        bytes[9] &= !0x04;
        bytes[8] = 3; // MQTT 3.1 level
        assert!(decode_one(&bytes).is_err());
    }
}
