//! `/monitoring` (support and admin): the pipeline's health (lost, rejected, dropped messages,
//! latency, dead letters), the fleet's modelled AWS cost with its chart and projection, and the
//! alerts with the rule editor (admins).
mod alert_item;
mod alerts_tab;
mod box_table;
mod cost_chart;
mod cost_draw;
mod costs_tab;
mod dead_letters;
pub mod format;
mod health_tiles;
mod loss_hero;
mod monitoring_page;
mod pipeline_tab;
mod rule_form;
mod rule_json;
mod rule_row;
mod segmented_choice;
mod tab;

pub use alert_item::AlertItem;
pub use alerts_tab::AlertsTab;
pub use box_table::BoxTable;
pub use cost_chart::CostChart;
pub use costs_tab::CostsTab;
pub use dead_letters::DeadLetters;
pub use health_tiles::HealthTiles;
pub use loss_hero::LossHero;
pub use monitoring_page::MonitoringPage;
pub use pipeline_tab::PipelineTab;
pub use rule_form::{RuleDraft, RuleForm};
pub use rule_row::RuleRow;
pub use segmented_choice::SegmentedChoice;
pub use tab::MonitoringTab;
