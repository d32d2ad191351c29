//! HTML report (placeholder while the renderer is written; replaced by the real one).

use super::Report;

/// Renders the report as HTML.
pub fn render(r: &Report) -> String {
    format!("<!DOCTYPE html><title>{}</title>", r.run_id)
}
