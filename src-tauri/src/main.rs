//! Coffer's desktop app. Everything lives in the library so tests can build it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    coffer_desktop::run();
}
