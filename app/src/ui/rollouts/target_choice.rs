use crate::domain::{DeviceId, RolloutTarget};

/// Which boxes a rollout form targets, as the person chose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetChoice {
    AllBoxes,
    OnlineBoxes,
    NamedBoxes,
}

impl TargetChoice {
    pub fn parse(raw: &str) -> TargetChoice {
        match raw {
            "online" => TargetChoice::OnlineBoxes,
            "named" => TargetChoice::NamedBoxes,
            _ => TargetChoice::AllBoxes,
        }
    }

    /// The target for the API; `names` is a list of box ids separated by commas, spaces or lines.
    pub fn target(self, names: &str, firmware: &str) -> Result<RolloutTarget, String> {
        let firmware = Some(firmware.trim().to_owned()).filter(|f| !f.is_empty());
        let devices = match self {
            TargetChoice::NamedBoxes => {
                let ids = names
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(|s| DeviceId::parse(s).map_err(|e| format!("Boxes: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                if ids.is_empty() {
                    return Err("Boxes: name at least one box id.".into());
                }
                Some(ids)
            }
            _ => None,
        };
        Ok(RolloutTarget {
            devices,
            online_only: self == TargetChoice::OnlineBoxes,
            firmware,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_boxes_are_split_and_checked() {
        let t = TargetChoice::NamedBoxes
            .target("b1, b2\nb3 ", " 1.4.2 ")
            .unwrap();
        assert_eq!(t.devices.unwrap().len(), 3);
        assert_eq!(t.firmware.as_deref(), Some("1.4.2"));
        assert!(TargetChoice::NamedBoxes.target("b1 bad/id", "").is_err());
        assert!(TargetChoice::NamedBoxes.target("  ", "").is_err());
        let online = TargetChoice::parse("online").target("ignored", "").unwrap();
        assert!(online.online_only && online.devices.is_none() && online.firmware.is_none());
    }
}
