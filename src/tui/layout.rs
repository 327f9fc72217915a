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

/// What the layout needs to know of a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneShape {
    /// Pipe in, pipe out or pty.
    pub kind: PaneKind,
    /// The pipe is closed (a closed write pane needs little room).
    pub closed: bool,
}

impl PaneShape {
    /// The shape of an open pane of `kind`.
    pub fn open(kind: PaneKind) -> Self {
        Self {
            kind,
            closed: false,
        }
    }
}

/// Lays out a screen of `screen` size with panes of `shapes`.
pub fn areas(screen: Rect, shapes: &[PaneShape], zoom: Option<usize>, timeline: bool) -> Areas {
    let [body, hint] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(screen);
    // A narrow screen keeps most of its width for the panes.
    let list_width = if screen.width < 100 {
        (screen.width / 4).max(16)
    } else {
        (screen.width / 3).clamp(20, 38)
    }
    .min(screen.width / 2);
    let [list, right] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Fill(1)]).areas(body);
    let timeline_height = if timeline {
        // A small screen keeps its rows for the panes.
        if right.height < 30 {
            4
        } else {
            (right.height / 4).clamp(4, 10)
        }
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
        Some(z) if z < shapes.len() => (0..shapes.len())
            .map(|i| if i == z { panes_area } else { Rect::default() })
            .collect(),
        _ => grid(panes_area, shapes),
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

/// Panes in one column, or two when there are four or more and room for them.
fn grid(area: Rect, shapes: &[PaneShape]) -> Vec<Rect> {
    if shapes.is_empty() {
        return Vec::new();
    }
    let columns = if shapes.len() >= 4 && area.width >= 72 {
        2
    } else {
        1
    };
    let per_column = shapes.len().div_ceil(columns);
    let column_areas = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(area);
    let mut rects = Vec::with_capacity(shapes.len());
    for (c, column) in column_areas.iter().enumerate() {
        let these =
            &shapes[(c * per_column).min(shapes.len())..((c + 1) * per_column).min(shapes.len())];
        let mut y = column.y;
        let bottom = column.y + column.height;
        for height in heights(column.height, these) {
            let height = height.min(bottom - y);
            rects.push(Rect::new(column.x, y, column.width, height));
            y += height;
        }
    }
    rects
}

/// Rows for each pane of a column of `total` rows. Every pane gets its border first; then
/// output (pipes fdscope reads, a pty) gets a line, open write pipes two lines of what was
/// sent, output a few more, closed write pipes two lines, and output the rest: on a small screen the data
/// stays visible and a closed write pipe shrinks to its title first.
fn heights(total: u16, shapes: &[PaneShape]) -> Vec<u16> {
    let output: fn(&PaneShape) -> bool = |s| s.kind != PaneKind::Write;
    let open_write: fn(&PaneShape) -> bool = |s| s.kind == PaneKind::Write && !s.closed;
    let closed_write: fn(&PaneShape) -> bool = |s| s.kind == PaneKind::Write && s.closed;
    let mut heights = vec![2u16; shapes.len()];
    let mut left = total.saturating_sub(2 * shapes.len() as u16);
    // (which panes, up to how many rows), in order of importance.
    let rounds = [(output, 3), (open_write, 4), (output, 5), (closed_write, 4)];
    for (wants, up_to) in rounds {
        for (h, shape) in heights.iter_mut().zip(shapes) {
            if wants(shape) && *h < up_to {
                let more = (up_to - *h).min(left);
                *h += more;
                left -= more;
            }
        }
    }
    let takers: Vec<usize> = match (0..shapes.len()).filter(|&i| output(&shapes[i])).collect() {
        some if !Vec::is_empty(&some) => some,
        _ => (0..shapes.len()).collect(),
    };
    let share = left / takers.len() as u16;
    let extra = left % takers.len() as u16;
    for (n, &i) in takers.iter().enumerate() {
        heights[i] += share + u16::from((n as u16) < extra);
    }
    heights
}

/// The cells inside a pane's border: the size a pty gets.
pub fn inner(rect: Rect) -> (u16, u16) {
    (
        rect.height.saturating_sub(2).max(1),
        rect.width.saturating_sub(2).max(1),
    )
}

/// The console's regions, and which pane each of `Areas::panes` shows.
pub fn console(app: &super::state::App) -> (Areas, Vec<super::state::PaneRef>) {
    console_on(app.view.screen, app)
}

/// [`console`] on a screen of `screen` size (the view draws on the frame it is given).
pub fn console_on(screen: Rect, app: &super::state::App) -> (Areas, Vec<super::state::PaneRef>) {
    let panes = app.visible_panes();
    let shapes: Vec<PaneShape> = panes
        .iter()
        .map(|p| {
            let pane = app.pane(*p);
            PaneShape {
                kind: pane.kind,
                closed: pane.closed,
            }
        })
        .collect();
    let zoom = app
        .view
        .zoom
        .then_some(app.view.focus.min(panes.len().saturating_sub(1)));
    let areas = areas(screen, &shapes, zoom, app.view.show_timeline);
    (areas, panes)
}

/// The visible panes of the console and where they are on its screen.
pub fn pane_rects(app: &super::state::App) -> Vec<(super::state::PaneRef, Rect)> {
    let (areas, panes) = console(app);
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
            let shapes = vec![PaneShape::open(Read); n];
            let a = areas(screen, &shapes, None, true);
            assert_eq!(a.panes.len(), n);
            assert!(
                a.panes.iter().all(|r| r.height >= 3 && r.width >= 20),
                "{n}: {a:?}"
            );
        }
        let shapes = [Write, Read, Read].map(PaneShape::open);
        let a = areas(screen, &shapes, Some(1), false);
        assert_eq!(a.panes[0], Rect::default());
        assert!(a.panes[1].height > 30);
    }

    #[test]
    fn at_80x24_output_panes_keep_rows_and_closed_writes_shrink_to_their_title() {
        // gpg: ciphertext in (closed), plaintext out, stderr, passphrase in (closed), status.
        let closed = |kind| PaneShape { kind, closed: true };
        let shapes = [
            closed(Write),
            closed(Read),
            closed(Read),
            closed(Write),
            closed(Read),
        ];
        let a = areas(Rect::new(0, 0, 80, 24), &shapes, None, true);
        let rows: Vec<u16> = a.panes.iter().map(|r| r.height).collect();
        for i in [1, 2, 4] {
            assert!(rows[i] >= 3, "output pane {i} has no content row: {rows:?}");
        }
        assert!(rows[0] == 2 && rows[3] == 2, "{rows:?}");
        let last = a.panes[4];
        assert!(last.y + last.height <= a.timeline.unwrap().y, "{a:?}");
        assert!(a.list.width <= 20, "{:?}", a.list);
    }

    #[test]
    fn rows_left_over_go_to_output_and_never_past_the_column() {
        let shapes = [PaneShape::open(Write), PaneShape::open(Read)];
        let h = heights(30, &shapes);
        assert_eq!(h, vec![4, 26]);
        let h = heights(3, &shapes);
        assert_eq!(h.iter().sum::<u16>(), 4, "borders first: {h:?}");
    }
}
