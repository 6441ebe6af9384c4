/// The tabs of the monitoring page, named in the URL (`?tab=costs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitoringTab {
    Pipeline,
    Costs,
    Alerts,
}

impl MonitoringTab {
    pub const ALL: [MonitoringTab; 3] = [
        MonitoringTab::Pipeline,
        MonitoringTab::Costs,
        MonitoringTab::Alerts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MonitoringTab::Pipeline => "pipeline",
            MonitoringTab::Costs => "costs",
            MonitoringTab::Alerts => "alerts",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MonitoringTab::Pipeline => "Pipeline",
            MonitoringTab::Costs => "Costs",
            MonitoringTab::Alerts => "Alerts",
        }
    }

    /// The tab a query value names; anything else (or nothing) is the pipeline.
    pub fn parse(raw: Option<&str>) -> MonitoringTab {
        MonitoringTab::ALL
            .into_iter()
            .find(|t| Some(t.as_str()) == raw)
            .unwrap_or(MonitoringTab::Pipeline)
    }
}

#[cfg(test)]
mod tests {
    use super::MonitoringTab;

    #[test]
    fn tabs_round_trip_and_default_to_the_pipeline() {
        for tab in MonitoringTab::ALL {
            assert_eq!(MonitoringTab::parse(Some(tab.as_str())), tab);
        }
        assert_eq!(MonitoringTab::parse(None), MonitoringTab::Pipeline);
        assert_eq!(MonitoringTab::parse(Some("nope")), MonitoringTab::Pipeline);
    }
}
