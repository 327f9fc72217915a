//! Where things go on the screen, as a pure function of its size and the panes shown.
//! The view draws into these rectangles; `update` uses them too, to size a pty from its
//! pane before the child starts.

use super::pane::PaneKind;
use ratatui::layout::{Constraint, Layout, Rect};

/// The screen's regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Areas {
    /// Commands and instances.
    pub list: Rect,
    /// Two lines about the selected instance.
    pub header: Rect,
    /// One rectangle per pane (empty for panes hidden by a zoom).
    pub panes: Vec<Rect>,
    /// The timeline, when shown.
    pub timeline: Option<Rect>,
    /// The input line (with its border).
    pub input: Rect,
    /// The one-line hint bar at the bottom.
    pub hint: Rect,
}

/// Lays out a screen of `screen` size with panes of `kinds`.
pub fn areas(screen: Rect, kinds: &[PaneKind], zoom: Option<usize>, timeline: bool) -> Areas {
    let [body, hint] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(screen);
    let list_width = (screen.width / 3).clamp(20, 38).min(screen.width / 2);
    let [list, right] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Fill(1)]).areas(body);
    let timeline_height = if timeline {
        (right.height / 4).clamp(4, 10)
    } else {
        0
    };
    let [header, panes_area, timeline_area, input] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(timeline_height),
        Constraint::Length(3),
    ])
    .areas(right);
    let panes = match zoom {
        Some(z) if z < kinds.len() => (0..kinds.len())
            .map(|i| if i == z { panes_area } else { Rect::default() })
            .collect(),
        _ => grid(panes_area, kinds),
    };
    Areas {
        list,
        header,
        panes,
        timeline: timeline.then_some(timeline_area),
        input,
        hint,
    }
}

/// Panes in one column, or two when there are four or more and room for them; pipes the
/// console writes get less height than output.
fn grid(area: Rect, kinds: &[PaneKind]) -> Vec<Rect> {
    if kinds.is_empty() {
        return Vec::new();
    }
    let columns = if kinds.len() >= 4 && area.width >= 72 {
        2
    } else {
        1
    };
    let per_column = kinds.len().div_ceil(columns);
    let column_areas = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(area);
    let mut rects = Vec::with_capacity(kinds.len());
    for (c, column) in column_areas.iter().enumerate() {
        let these =
            &kinds[(c * per_column).min(kinds.len())..((c + 1) * per_column).min(kinds.len())];
        let only_writes = these.iter().all(|k| *k == PaneKind::Write);
        let constraints: Vec<Constraint> = these
            .iter()
            .map(|kind| match kind {
                // Two lines of what was sent; output gets the rest.
                PaneKind::Write if !only_writes => Constraint::Length(4),
                _ => Constraint::Fill(1),
            })
            .collect();
        rects.extend(Layout::vertical(constraints).split(*column).iter().copied());
    }
    rects
}

/// The cells inside a pane's border: the size a pty gets.
pub fn inner(rect: Rect) -> (u16, u16) {
    (
        rect.height.saturating_sub(2).max(1),
        rect.width.saturating_sub(2).max(1),
    )
}

/// The visible panes of the console and where they are on its screen.
pub fn pane_rects(app: &super::state::App) -> Vec<(super::state::PaneRef, Rect)> {
    let panes = app.visible_panes();
    let kinds: Vec<PaneKind> = panes.iter().map(|p| app.pane(*p).kind).collect();
    let zoom = app
        .view
        .zoom
        .then_some(app.view.focus.min(panes.len().saturating_sub(1)));
    let areas = areas(app.view.screen, &kinds, zoom, app.view.show_timeline);
    panes.into_iter().zip(areas.panes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaneKind::*;

    #[test]
    fn every_pane_gets_room_and_zoom_takes_all() {
        let screen = Rect::new(0, 0, 120, 40);
        for n in 1..=6 {
            let kinds = vec![Read; n];
            let a = areas(screen, &kinds, None, true);
            assert_eq!(a.panes.len(), n);
            assert!(
                a.panes.iter().all(|r| r.height >= 3 && r.width >= 20),
                "{n}: {a:?}"
            );
        }
        let kinds = [Write, Read, Read];
        let a = areas(screen, &kinds, Some(1), false);
        assert_eq!(a.panes[0], Rect::default());
        assert!(a.panes[1].height > 30);
    }
}
