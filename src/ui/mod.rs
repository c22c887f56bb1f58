//! The dashboard: layout, panes, popups and themes. Rendering only reads state.

pub mod theme;
