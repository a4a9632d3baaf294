//! Rollcall's desktop shell. It only translates: UI calls become calls into the `rollcall` core,
//! and what the core reports (frames, marks, errors) becomes messages on Tauri channels. No
//! attendance rule, recognition decision or SQL lives here (see ARCHITECTURE.md).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod camera;
mod commands;
mod state;

use tauri::{Manager, RunEvent};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ROLLCALL_LOG").unwrap_or_else(|_| "rollcall=info,rollcall_app=info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            // An installed bundle carries the models and the ONNX Runtime library as resources.
            if let Ok(dir) = app.path().resource_dir() {
                rollcall::runtime::set_resource_dir(dir);
            }
            let config_dir = app.path().app_config_dir().ok();
            let state = state::AppState::open(config_dir)?;
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::save_settings,
            commands::set_data_folder,
            commands::list_classes,
            commands::create_class,
            commands::update_class,
            commands::roster_preview,
            commands::roster_import,
            commands::list_students,
            commands::delete_student,
            commands::enrol_photos,
            commands::probe_cameras,
            commands::session_start,
            commands::session_stop,
            commands::preview_start,
            commands::preview_capture,
            commands::preview_stop,
            commands::report_daily,
            commands::report_history,
            commands::report_summary,
            commands::override_mark,
            commands::export_xlsx,
            commands::default_export_path,
        ])
        .build(tauri::generate_context!())
        .expect("the Tauri application could not be built");

    app.run(|handle, event| {
        // Closing the window mid-session ends the session cleanly: the loop stops, writes the
        // mood summaries and closes the session before the process exits. Marks are already
        // committed as they happen.
        if let RunEvent::ExitRequested { .. } | RunEvent::Exit = event {
            if let Some(state) = handle.try_state::<state::AppState>() {
                state.stop_all();
            }
        }
    });
}
