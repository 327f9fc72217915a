//! The timeline's lanes view (key `l`): the SVG diagram's picture in text. One column for
//! the process and one per fd, one row per event (runs of chunks folded), newest at the
//! bottom: a lane is `│` while it is open, its events are marks in its column.

use super::timeline::Timeline;
use crate::record::sequence::{fd_title, Mark, Row, Sequence};
use crate::transcript::millis;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

/// Entries looked at for the rows shown: enough for any screen even when runs fold.
const LOOKBACK: usize = 4096;
/// Width of the time column.
const TIME_W: usize = 12;

fn cell(text: &str, width: usize) -> String {
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    let len = s.chars().count();
    s.extend(std::iter::repeat_n(' ', width - len.min(width)));
    s
}

fn style(mark: &Mark) -> Style {
    match mark {
        Mark::Started { .. } => Style::default().fg(Color::LightGreen),
        Mark::Chunks { .. } => Style::default(),
        Mark::Lost { .. } => Style::default().fg(Color::Yellow),
        Mark::Exited(_) | Mark::Ended(_) => Style::default().fg(Color::LightMagenta),
        Mark::Note { .. } => Style::default().fg(Color::LightBlue),
    }
}

fn short(mark: &Mark) -> String {
    match mark {
        Mark::Started { pid } => format!("● started {pid}"),
        Mark::Chunks {
            count: 1, bytes, ..
        } => format!("▶ {}", crate::record::sequence::size(*bytes)),
        Mark::Chunks { count, bytes, .. } => {
            format!("▶ {count}× {}", crate::record::sequence::size(*bytes))
        }
        Mark::Lost { .. } => "✕ lost".into(),
        Mark::Exited(status) => format!("◆ exited {}", code(status)),
        Mark::Ended(status) => format!("■ ended {}", code(status)),
        Mark::Note { event, .. } => format!("· {event}"),
    }
}

fn code(status: &crate::ExitStatus) -> String {
    match (status.exit_code(), status.signal()) {
        (Some(c), _) => c.to_string(),
        (None, Some(s)) => crate::spawn::signal_name(s).to_string(),
        _ => "?".into(),
    }
}

/// The heading and the last `rows - 1` rows of `timeline` as lanes, `width` columns wide.
pub fn lines(timeline: &Timeline, name: &str, rows: usize, width: usize) -> Vec<Line<'static>> {
    let skip = timeline.len().saturating_sub(LOOKBACK);
    let records: Vec<_> = timeline
        .entries
        .iter()
        .skip(skip)
        .map(|e| e.record(name))
        .collect();
    let seq = Sequence::new(&records);
    let fds = seq
        .groups
        .first()
        .map(|g| g.fds.clone())
        .unwrap_or_default();
    let lanes = 1 + fds.len();
    let lane_w = ((width.saturating_sub(TIME_W)) / lanes).clamp(8, 24);
    let column = |mark: &Mark| match mark.fd() {
        None => 0,
        Some(fd) => 1 + fds.iter().position(|f| *f == fd).unwrap_or(0),
    };
    // Whether each lane is still open after each row.
    let mut open = vec![true; lanes];
    let mut open_after: Vec<Vec<bool>> = Vec::with_capacity(seq.rows.len());
    for row in &seq.rows {
        match row.mark {
            Mark::Lost { .. } | Mark::Ended(_) => open[column(&row.mark)] = false,
            _ => {}
        }
        open_after.push(open.clone());
    }
    let mut head = vec![Span::styled(
        cell("t (ms)", TIME_W),
        Style::default().fg(Color::DarkGray),
    )];
    head.push(Span::styled(
        cell("process", lane_w),
        Style::default().fg(Color::Cyan),
    ));
    for fd in &fds {
        head.push(Span::styled(
            cell(&fd_title(*fd), lane_w),
            Style::default().fg(Color::Cyan),
        ));
    }
    let mut out = vec![Line::from(head)];
    let shown = rows.saturating_sub(1);
    let first = seq.rows.len().saturating_sub(shown);
    for (i, row) in seq.rows.iter().enumerate().skip(first) {
        out.push(row_line(
            row,
            column(&row.mark),
            &open_after[i],
            lanes,
            lane_w,
            i == 0,
        ));
    }
    out
}

fn row_line(
    row: &Row,
    col: usize,
    open: &[bool],
    lanes: usize,
    lane_w: usize,
    _first: bool,
) -> Line<'static> {
    let mut spans = vec![Span::styled(
        cell(&format!("{:>10.3}", millis(row.at)), TIME_W),
        Style::default().fg(Color::DarkGray),
    )];
    for (lane, is_open) in open.iter().enumerate().take(lanes) {
        if lane == col {
            spans.push(Span::styled(
                cell(&short(&row.mark), lane_w),
                style(&row.mark),
            ));
        } else {
            let bar = if *is_open { "│" } else { " " };
            spans.push(Span::styled(
                cell(bar, lane_w),
                Style::default().fg(Color::DarkGray),
            ));
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExitStatus, ProcessEvent};
    use bytes::Bytes;
    use std::time::Duration;

    #[test]
    fn one_column_per_fd_and_marks_in_their_lane() {
        let mut t = Timeline::default();
        let events = [
            ProcessEvent::ConnectionMade { pid: 42 },
            ProcessEvent::ChildConnectionLost { fd: 0 },
            ProcessEvent::ChildDataReceived {
                fd: 1,
                data: Bytes::from_static(b"     40\n"),
            },
            ProcessEvent::ChildConnectionLost { fd: 1 },
            ProcessEvent::ChildConnectionLost { fd: 2 },
            ProcessEvent::ProcessExited {
                status: ExitStatus::Done,
            },
            ProcessEvent::ProcessEnded {
                status: ExitStatus::Done,
            },
        ];
        for (i, e) in events.iter().enumerate() {
            t.push(Duration::from_millis(i as u64), e);
        }
        let text: Vec<String> = lines(&t, "wc", 20, 12 + 4 * 16)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert!(
            text[0].contains("process") && text[0].contains("fd 2 stderr"),
            "{text:#?}"
        );
        assert_eq!(text.len(), 8);
        let col = |line: &str, pat: &str| line.find(pat).map(|b| line[..b].chars().count());
        // Data on fd 1 sits in the third column, under its heading.
        assert_eq!(col(&text[3], "▶ 8 B"), col(&text[0], "fd 1"), "{text:#?}");
        assert_eq!(col(&text[2], "✕ lost"), col(&text[0], "fd 0"), "{text:#?}");
        assert!(text[7].contains("■ ended 0"));
        // fd 0 is closed after its loss: no bar under it any more.
        let fd0 = col(&text[0], "fd 0").unwrap();
        assert_eq!(text[4].chars().nth(fd0), Some(' '), "{text:#?}");
        assert_eq!(text[1].chars().nth(fd0), Some('│'), "{text:#?}");
    }
}
