//! Overlays drawn over the console: the help (generated from the key table) and menus.

use super::action::Mode;
use super::keys;
use super::state::Menu;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

/// The `?` overlay: every binding of the key table, grouped by mode.
pub fn help(frame: &mut Frame, scroll: u16) {
    let mut lines = Vec::new();
    let mut last = None;
    for (mode, keys, text) in keys::help_rows() {
        // Replay's keys are on its status line; the console's help is for the console.
        if mode == Mode::Help || mode == Mode::Replay {
            continue;
        }
        if last != Some(mode) {
            if last.is_some() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(
                mode.title(),
                Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ));
            last = Some(mode);
        }
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {keys:<14}"),
                Style::default().fg(Color::LightCyan),
            ),
            Span::raw(text),
        ]));
    }
    // Over everything but the hint bar, which keeps saying how to leave.
    let screen = frame.area();
    let area = Rect {
        height: screen.height.saturating_sub(1),
        ..screen
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help · Esc closes ");
    // One column when it fits, else two side by side.
    let columns = if lines.len() as u16 + 2 <= area.height || area.width < 90 {
        1
    } else {
        2
    };
    let per_column = lines.len().div_ceil(columns);
    let height = (per_column as u16 + 2).min(area.height);
    let width = if columns == 1 { 80 } else { 160 };
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let right = lines.split_off(per_column.min(lines.len()));
    // Both columns scroll together when the screen is too short for them.
    let most = (lines.len() as u16).saturating_sub(inner.height);
    let offset = (scroll.min(most), 0);
    if columns == 1 {
        frame.render_widget(Paragraph::new(lines).scroll(offset), inner);
    } else {
        let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
        frame.render_widget(Paragraph::new(lines).scroll(offset), l);
        frame.render_widget(Paragraph::new(right).scroll(offset), r);
    }
}

/// A menu box with its entries and the highlighted one.
pub fn menu(frame: &mut Frame, menu: &Menu) {
    let width = menu
        .items
        .iter()
        .map(|(label, _)| label.chars().count() as u16)
        .max()
        .unwrap_or(10)
        .max(menu.title.len() as u16)
        + 6;
    let rect = centered(frame.area(), width, menu.items.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let items: Vec<ListItem> = menu
        .items
        .iter()
        .map(|(label, _)| ListItem::new(format!(" {label}")))
        .collect();
    let list = List::new(items)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {} ", menu.title)),
        )
        .highlight_style(Style::default().bg(Color::Cyan).fg(Color::Black));
    let mut state = ListState::default().with_selected(Some(menu.cursor));
    frame.render_stateful_widget(list, rect, &mut state);
}
