//! `fdscope diagram` and `run --diagram`: a transcript as an SVG sequence diagram, the
//! picture a teacher draws of the fd order. Per instance one lane for the process and one
//! per fd; one row per event, top-down in transcript order, with its time on the left;
//! runs of chunks folded ([`super::sequence`]). Written with the `svg` crate, so the text
//! is escaped and the XML well-formed.
//!
//! For tools and tests the marks carry their meaning as attributes: each lane is a
//! `<g class="lane" data-fd="1">` (`data-fd="process"` for the process lane), each row a
//! `<g class="event" data-event="child_data_received" data-fd="1" data-count="3"
//! data-index="5">` where `data-index` is the transcript index of its first event.

use super::sequence::{fd_title, Mark, Sequence};
use crate::escape::escape;
use crate::transcript::{millis, Record};
use svg::node::element::{Definitions, Group, Line, Marker, Path, Rectangle, Style, Text, Title};
use svg::Document;

const TIME_W: usize = 96;
const LANE_W: usize = 190;
const ROW_H: usize = 24;
const HEADER_H: usize = 56;
const FOOTER_H: usize = 24;
const LABEL_ROOM: usize = 220;

const CSS: &str = "
text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; fill: #222; }
.title { font-weight: bold; font-size: 13px; }
.time { fill: #777; text-anchor: end; }
.lane-line { stroke: #bbb; stroke-width: 1; stroke-dasharray: 4 3; }
.lane-live { stroke: #4a7bd0; stroke-width: 2; }
.process-live { stroke: #444; stroke-width: 2; }
.head { fill: #eef3fb; stroke: #4a7bd0; }
.head-process { fill: #f2f2f2; stroke: #444; }
.data { stroke: #2d8a4e; stroke-width: 1.5; marker-end: url(#arrow); }
.lost { stroke: #c0392b; stroke-width: 2; }
.exited { fill: #fff3cd; stroke: #b7950b; }
.ended { fill: #d6eaf8; stroke: #1f618d; }
.started { fill: #e8f8f5; stroke: #148f77; }
.note { fill: #f4ecf7; stroke: #7d3c98; }
.guide { stroke: #f0f0f0; }
";

/// The x of the middle of lane `lane` (counting every lane of every group, left to right).
fn lane_x(lane: usize) -> usize {
    TIME_W + lane * LANE_W + LANE_W / 2
}

fn row_y(row: usize) -> usize {
    HEADER_H + row * ROW_H + ROW_H / 2
}

fn text(x: usize, y: usize, content: impl Into<String>) -> Text {
    Text::new(content).set("x", x).set("y", y)
}

/// Draws `records` as an SVG document.
pub fn diagram(records: &[Record]) -> Document {
    let seq = Sequence::new(records);
    // First lane index of each group: its process lane, then its fds.
    let mut first_lane = Vec::new();
    let mut lanes = 0;
    for group in &seq.groups {
        first_lane.push(lanes);
        lanes += 1 + group.fds.len();
    }
    let lane_of = |group: usize, fd: Option<i32>| match fd {
        None => first_lane[group],
        Some(fd) => {
            let pos = seq.groups[group]
                .fds
                .iter()
                .position(|f| *f == fd)
                .unwrap_or(0);
            first_lane[group] + 1 + pos
        }
    };
    let width = TIME_W + lanes.max(1) * LANE_W + LABEL_ROOM;
    let height = HEADER_H + seq.rows.len() * ROW_H + FOOTER_H;
    let bottom = height - FOOTER_H;

    let arrow = Marker::new()
        .set("id", "arrow")
        .set("viewBox", "0 0 10 10")
        .set("refX", 9)
        .set("refY", 5)
        .set("markerWidth", 7)
        .set("markerHeight", 7)
        .set("orient", "auto-start-reverse")
        .add(
            Path::new()
                .set("d", "M 0 0 L 10 5 L 0 10 z")
                .set("fill", "#2d8a4e"),
        );
    let mut doc = Document::new()
        .set("width", width)
        .set("height", height)
        .set("viewBox", (0, 0, width, height))
        .add(Title::new("fdscope: the order of fd events"))
        .add(Style::new(CSS))
        .add(Definitions::new().add(arrow))
        .add(
            Rectangle::new()
                .set("width", width)
                .set("height", height)
                .set("fill", "white"),
        );
    doc = doc.add(text(TIME_W - 8, 20, "t (ms)").set("class", "time"));

    // Guides under every row, then the lanes.
    let mut guides = Group::new().set("class", "guides");
    for i in 0..seq.rows.len() {
        let y = row_y(i);
        guides = guides.add(
            Line::new()
                .set("class", "guide")
                .set("x1", TIME_W)
                .set("x2", width - LABEL_ROOM / 2)
                .set("y1", y)
                .set("y2", y),
        );
    }
    doc = doc.add(guides);

    for (g, group) in seq.groups.iter().enumerate() {
        // The process lane lives until process_ended; an fd lane until it is lost.
        let end_row = |is: &dyn Fn(&Mark) -> bool| {
            seq.rows
                .iter()
                .position(|r| r.group == g && is(&r.mark))
                .map_or(bottom, row_y)
        };
        let start_row = seq
            .rows
            .iter()
            .position(|r| r.group == g)
            .map_or(HEADER_H, row_y);
        let x = lane_x(first_lane[g]);
        let ended = end_row(&|m| matches!(m, Mark::Ended(_)));
        doc = doc.add(lane(
            "process",
            &group.title(),
            x,
            start_row,
            ended,
            bottom,
            true,
            group.name.as_deref(),
        ));
        for (k, fd) in group.fds.iter().enumerate() {
            let x = lane_x(first_lane[g] + 1 + k);
            let lost = end_row(&|m| matches!(m, Mark::Lost { fd: f } if f == fd));
            doc = doc.add(lane(
                &fd.to_string(),
                &fd_title(*fd),
                x,
                start_row,
                lost,
                bottom,
                false,
                group.name.as_deref(),
            ));
        }
    }

    let mut events = Group::new().set("class", "events");
    for (i, row) in seq.rows.iter().enumerate() {
        let y = row_y(i);
        let x = lane_x(lane_of(row.group, row.mark.fd()));
        let process_x = lane_x(lane_of(row.group, None));
        let time = if row.until > row.at {
            format!("{:.3}–{:.3}", millis(row.at), millis(row.until))
        } else {
            format!("{:.3}", millis(row.at))
        };
        let mut mark = Group::new()
            .set("class", "event")
            .set("data-event", row.mark.event())
            .set(
                "data-fd",
                row.mark
                    .fd()
                    .map_or("process".to_string(), |f| f.to_string()),
            )
            .set("data-count", Sequence::count(row))
            .set("data-index", row.first)
            .add(text(TIME_W - 8, y + 4, time).set("class", "time"));
        let label = row.mark.label();
        let mut tooltip = format!("{} {label}", seq.groups[row.group].title());
        mark = match &row.mark {
            Mark::Chunks { excerpt, .. } => {
                if !excerpt.is_empty() {
                    tooltip.push_str(&format!(": \"{}\"", escape(excerpt)));
                }
                mark.add(
                    Line::new()
                        .set("class", "data")
                        .set("x1", process_x)
                        .set("y1", y)
                        .set("x2", x - 3)
                        .set("y2", y),
                )
            }
            Mark::Lost { .. } => {
                let d = 6;
                mark.add(Path::new().set("class", "lost").set(
                    "d",
                    format!(
                        "M {} {} L {} {} M {} {} L {} {}",
                        x - d,
                        y - d,
                        x + d,
                        y + d,
                        x - d,
                        y + d,
                        x + d,
                        y - d
                    ),
                ))
            }
            other => {
                let class = match other {
                    Mark::Started { .. } => "started",
                    Mark::Exited(_) => "exited",
                    Mark::Ended(_) => "ended",
                    _ => "note",
                };
                mark.add(
                    Rectangle::new()
                        .set("class", class)
                        .set("x", x - 7)
                        .set("y", y - 7)
                        .set("width", 14)
                        .set("height", 14)
                        .set("rx", if class == "ended" { 0 } else { 3 }),
                )
            }
        };
        mark = mark
            .add(text(x + 12, y + 4, label))
            .add(Title::new(tooltip));
        events = events.add(mark);
    }
    doc.add(events)
}

/// One lane: its heading, a dashed line for its whole height and a solid one while it is
/// open (from the first event to its loss, or the process's end).
#[allow(clippy::too_many_arguments)]
fn lane(
    fd: &str,
    title: &str,
    x: usize,
    from: usize,
    until: usize,
    bottom: usize,
    process: bool,
    name: Option<&str>,
) -> Group {
    let mut group = Group::new()
        .set("class", "lane")
        .set("data-fd", fd)
        .add(
            Rectangle::new()
                .set("class", if process { "head-process" } else { "head" })
                .set("x", x - LANE_W / 2 + 8)
                .set("y", 8)
                .set("width", LANE_W - 16)
                .set("height", 26)
                .set("rx", 4),
        )
        .add(
            text(x, 26, title)
                .set("class", "title")
                .set("text-anchor", "middle"),
        )
        .add(
            Line::new()
                .set("class", "lane-line")
                .set("x1", x)
                .set("x2", x)
                .set("y1", 34)
                .set("y2", bottom),
        )
        .add(
            Line::new()
                .set("class", if process { "process-live" } else { "lane-live" })
                .set("x1", x)
                .set("x2", x)
                .set("y1", from)
                .set("y2", until.max(from)),
        );
    if let Some(name) = name {
        group = group.set("data-name", name);
    }
    group
}

/// The diagram as SVG text.
pub fn to_svg(records: &[Record]) -> String {
    let mut out = diagram(records).to_string();
    out.push('\n');
    out
}

/// What the diagram needs of an event as it happens: a chunk's length, not its bytes
/// (`run --diagram` keeps every event until the end).
pub fn record_without_data(
    at: std::time::Duration,
    event: &crate::transcript::TranscriptEvent,
    name: Option<&str>,
) -> Record {
    use crate::transcript::TranscriptEvent;
    use crate::ProcessEvent;
    let (event, len) = match event {
        TranscriptEvent::Process(ProcessEvent::ChildDataReceived { fd, data }) => (
            TranscriptEvent::Process(ProcessEvent::ChildDataReceived {
                fd: *fd,
                data: bytes::Bytes::new(),
            }),
            data.len(),
        ),
        other => (other.clone(), 0),
    };
    Record {
        at,
        name: name.map(str::to_string),
        instance: None,
        event,
        len,
        has_data: len == 0,
    }
}
