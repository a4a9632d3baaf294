//! Rollcall's desktop shell. It only translates: UI calls become calls into the `rollcall` core,
//! and what the core reports (frames, marks, errors) becomes messages on Tauri channels. No
//! attendance rule, recognition decision or SQL lives here (see ARCHITECTURE.md).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod camera;
mod commands;
mod scheduler;
mod state;

use tauri::{Manager, RunEvent};

/// Without a GPU (a virtual machine, a remote desktop, Xvfb), WebKitGTK's accelerated compositing
/// runs its OpenGL in software (llvmpipe) and repaints the whole window that way for every
/// video frame: measured under Xvfb on 2 cores, the web process took a full core (100-120 %) and
/// the roll beside it fell to 23-24 fps on the 30 fps clip; with compositing off the web process
/// took 12-27 % and the roll kept 27-29 fps. With a GPU (a render node in /dev/dri) compositing
/// is cheap and stays on. An explicit WEBKIT_DISABLE_COMPOSITING_MODE is left alone.
#[cfg(target_os = "linux")]
fn software_compositing_off() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let has_gpu = std::fs::read_dir("/dev/dri")
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    if !has_gpu {
        tracing::info!("no GPU render node in /dev/dri: webview compositing off (software OpenGL would cost a core)");
        // Before any thread is started and before GTK/WebKit read their environment.
        std::env::set_var(VAR, "1");
    }
}

/// A program built for the Windows GUI subsystem has no console: `rollcall-app --self-test` run
/// from a Command Prompt or PowerShell would print nothing. Attach to the parent's console, if
/// there is one (output redirected to a file already works without it).
#[cfg(windows)]
fn attach_parent_console() {
    extern "system" {
        fn AttachConsole(process_id: u32) -> i32;
    }
    const ATTACH_PARENT_PROCESS: u32 = u32::MAX;
    // SAFETY: AttachConsole only connects this process to its parent's console; it fails
    // harmlessly when there is none.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}

/// `rollcall-app --self-test`: the installation's report on stdout, no window, exit 0 or 1.
/// Run inside the app (after GTK or the platform's webview libraries have loaded, with the
/// bundle's own resource folder), so it tests what the app will use, not what the CLI would.
fn self_test(config_dir: Option<&std::path::Path>) -> i32 {
    let database = state::database_path(config_dir).unwrap_or_else(rollcall::storage::Store::default_path);
    let report = rollcall::self_test::run(&rollcall::self_test::Options { models_dir: None, database });
    let json = std::env::args().any(|a| a == "--json");
    let text = if json { serde_json::to_string(&report).unwrap_or_default() + "\n" } else { report.to_text() };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    if report.ok {
        0
    } else {
        1
    }
}

fn main() {
    let self_test_only = std::env::args().any(|a| a == "--self-test");
    #[cfg(windows)]
    if self_test_only {
        attach_parent_console();
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ROLLCALL_LOG").unwrap_or_else(|_| "rollcall=info,rollcall_app=info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    #[cfg(target_os = "linux")]
    software_compositing_off();
    // The database, exports and logs this process writes are readable by the user only.
    rollcall::files::private_umask();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            // An installed bundle carries the models and the ONNX Runtime library as resources.
            if let Ok(dir) = app.path().resource_dir() {
                rollcall::runtime::set_resource_dir(dir);
            }
            let config_dir = app.path().app_config_dir().ok();
            if self_test_only {
                std::process::exit(self_test(config_dir.as_deref()));
            }
            // The window is made here rather than from the configuration at start, so that
            // `--self-test` never opens one.
            if let Some(window) = app.config().app.windows.first() {
                tauri::WebviewWindowBuilder::from_config(app.handle(), window)?.build()?;
            }
            // A database that cannot be opened (no credential store, a wrong key, a locked or
            // damaged file) is said in the window, in the core's sentence, not a crash.
            match state::AppState::open(config_dir) {
                Ok(state) => {
                    app.manage(state);
                }
                Err(e) => {
                    tracing::error!("the database could not be opened: {e:#}");
                    app.manage(state::StartupFailure(format!("{e:#}")));
                }
            }
            scheduler::spawn(app.handle().clone());
            // Retention applied by the program: a purge at start, then once a day. The daily
            // automatic backup, if the school set one up, is checked as often.
            let handle = app.handle().clone();
            std::thread::spawn(move || loop {
                if let Some(state) = handle.try_state::<state::AppState>() {
                    match rollcall::retention::purge_if_due(&mut state.store(), "Rollcall (retention schedule)") {
                        Ok(Some(r)) => tracing::info!(counts = ?r.counts, "retention purge"),
                        Ok(None) => {}
                        Err(e) => tracing::warn!("retention purge failed (it runs again within the hour): {e:#}"),
                    }
                    let now = chrono::Local::now().naive_local();
                    match rollcall::backup::auto_backup(&mut state.store(), now, false, "Rollcall (daily backup)") {
                        Ok(done) => {
                            if let Some(f) = done.written {
                                tracing::info!(file = %f.display(), removed = done.removed.len(), "automatic backup");
                            }
                        }
                        Err(e) if e.downcast_ref::<rollcall::backup::AutoBackupError>().is_some() => {}
                        Err(e) => tracing::warn!("the automatic backup failed (it is tried again within the hour): {e:#}"),
                    }
                }
                std::thread::sleep(std::time::Duration::from_secs(3600));
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::self_test,
            commands::sign_in,
            commands::sign_out,
            commands::backup_now,
            commands::backup_status,
            commands::set_backup_passphrase,
            commands::auto_backup_now,
            commands::save_settings,
            commands::purge_moods,
            commands::set_data_folder,
            commands::set_register_server,
            commands::list_classes,
            commands::create_class,
            commands::update_class,
            commands::roster_preview,
            commands::roster_import,
            commands::list_students,
            commands::check_photos,
            commands::delete_student,
            commands::enrol_photos,
            commands::probe_cameras,
            commands::live_watch,
            commands::session_start,
            commands::session_stop,
            commands::preview_start,
            commands::preview_capture,
            commands::preview_stop,
            commands::report_daily,
            commands::timetable,
            commands::timetable_import,
            commands::timetable_edit,
            commands::report_history,
            commands::report_summary,
            commands::override_mark,
            commands::export_xlsx,
            commands::default_export_path,
            commands::consent_history,
            commands::record_consent,
            commands::record_consent_bulk,
            commands::mark_by_hand,
            commands::purge,
            commands::privacy_report,
            commands::save_privacy_report,
            commands::export_student,
            commands::default_document_path,
            commands::leave_school,
        ])
        .build(tauri::generate_context!())
        .expect("the Tauri application could not be built");

    app.run(|handle, event| {
        // Closing the window mid-session ends the session cleanly: the loop stops, writes the
        // mood summaries and closes the session before the process exits (marks are committed
        // as they happen anyway). The loops are joined on a thread of their own, not on the
        // event loop: a loop may be waiting for the event loop (a message to the closed window).
        match event {
            RunEvent::ExitRequested { api, .. } => {
                let Some(state) = handle.try_state::<state::AppState>() else { return };
                if !state.closing.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    api.prevent_exit();
                    let handle = handle.clone();
                    std::thread::spawn(move || {
                        handle.state::<state::AppState>().stop_all();
                        handle.exit(0);
                    });
                }
            }
            RunEvent::Exit => {
                if let Some(state) = handle.try_state::<state::AppState>() {
                    state.stop_all();
                }
            }
            _ => {}
        }
    });
}
