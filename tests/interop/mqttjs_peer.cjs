// A WebSocket MQTT peer nobody here wrote (MQTT.js), driven by the interop tests.
// Usage: node mqttjs_peer.cjs '<json: {url, clientId, username, password, subscribe?, publish?: {topic, payload}}>'
// Prints one JSON line per event: {"event":"connected"} | {"event":"message","topic":..,"payload":..} |
// {"event":"published"} | {"event":"error","message":..}. Exits after the first message when
// subscribed, or after the publish is acknowledged.
const mqtt = require('mqtt');

const args = JSON.parse(process.argv[2]);
const say = (o) => console.log(JSON.stringify(o));
const client = mqtt.connect(args.url, {
  clientId: args.clientId,
  username: args.username,
  password: args.password,
  protocolVersion: 4,
  reconnectPeriod: 0,
  connectTimeout: 10_000,
});
const timer = setTimeout(() => { say({ event: 'error', message: 'timeout' }); process.exit(2); }, 15_000);
client.on('error', (e) => { say({ event: 'error', message: String(e.message || e) }); process.exit(1); });
client.on('connect', () => {
  say({ event: 'connected' });
  if (args.subscribe) {
    client.subscribe(args.subscribe, { qos: 1 }, (err, granted) => {
      if (err) { say({ event: 'error', message: String(err) }); process.exit(1); }
      say({ event: 'subscribed', granted: granted.map((g) => g.qos) });
    });
  }
  if (args.publish) {
    client.publish(args.publish.topic, args.publish.payload, { qos: 1 }, (err) => {
      if (err) { say({ event: 'error', message: String(err) }); process.exit(1); }
      say({ event: 'published' });
      if (!args.subscribe) { clearTimeout(timer); client.end(false, () => process.exit(0)); }
    });
  }
});
client.on('message', (topic, payload) => {
  say({ event: 'message', topic, payload: payload.toString() });
  clearTimeout(timer);
  client.end(false, () => process.exit(0));
});
