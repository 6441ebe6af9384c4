//! The MQTT 3.1.1 codec lives in `crate::mqtt_codec`, outside `ui`, so that its unit tests build
//! and run on the host without the browser feature (`cargo test -p boxpilot-app`).
pub use crate::mqtt_codec::*;
