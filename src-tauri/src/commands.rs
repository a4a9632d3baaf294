//! The commands the UI invokes. Each one parses its arguments, calls the core, and turns the
//! result (or the error: a code for the UI to act on and a sentence for a person) into JSON.
//! Nothing is decided here.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, Timelike};
use serde::Serialize;
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::State;

use rollcall::accounts::{self, Account, IdleLocked, Presence, Refused, SignInError};
use rollcall::attendance::lessons::{self, LessonError};
use rollcall::attendance::live::{check_plan, RollOf, SessionError, SessionPlan};
use rollcall::attendance::RegisterRef;
use rollcall::attendance::Status;
use rollcall::calendar::{parse_date, parse_time};
use rollcall::consent::ConsentRequest;
use rollcall::enrolment::EnrolOptions;
use rollcall::files::WriteError;
use rollcall::report;
use rollcall::roster::read_roster;
use rollcall::schedule::LessonOn;
use rollcall::settings;
use rollcall::source::{FrameSource, SourceSpec};
use rollcall::storage::{RosterOptions, Store, StoreError};

use crate::camera::{self, PreviewMessage, RoomMessage};
use crate::state::{AppState, StartupFailure, DB_FILE_NAME};

/// An error as the UI receives it: `code` to act on (e.g. `exists`: ask before replacing a
/// file), `message` to show.
#[derive(Debug, Serialize)]
pub struct Failure {
    code: &'static str,
    message: String,
}

type Answer<T> = Result<T, Failure>;

/// The error as a sentence (with its causes) and the code of the core error behind it.
fn say(e: impl Into<anyhow::Error>) -> Failure {
    let e = e.into();
    let code = if let Some(w) = e.downcast_ref::<WriteError>() {
        w.code()
    } else if let Some(s) = e.downcast_ref::<SessionError>() {
        s.code()
    } else if let Some(s) = e.downcast_ref::<LessonError>() {
        s.code()
    } else if e.downcast_ref::<Refused>().is_some() {
        "refused"
    } else if e.downcast_ref::<IdleLocked>().is_some() {
        "signed_out"
    } else if let Some(s) = e.downcast_ref::<SignInError>() {
        match s {
            SignInError::Locked { .. } => "locked",
            SignInError::Store(_) => "database",
            _ => "sign_in",
        }
    } else if let Some(s) = e.downcast_ref::<StoreError>() {
        match s {
            StoreError::NoConsent(_) => "no_consent",
            s if s.is_busy() => "busy",
            _ => "database",
        }
    } else {
        "error"
    };
    Failure { code, message: format!("{e:#}") }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { code: "invalid", message }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure { code: "invalid", message: message.to_string() }
    }
}

// ---- who is using the app -----------------------------------------------------------------

/// The signed-in account (its idle time starts again), or `signed_out`.
fn me(state: &AppState) -> Answer<Account> {
    let mut slot = state.presence.lock().unwrap_or_else(|e| e.into_inner());
    let presence = slot.as_mut().ok_or_else(|| Failure { code: "signed_out", message: "sign in first".into() })?;
    match presence.touch() {
        Ok(account) => Ok(account.clone()),
        Err(locked) => {
            let name = presence.account.name.clone();
            *slot = None;
            drop(slot);
            let _ = state.store().audit_database_event(&name, "locked", locked.to_string());
            Err(say(locked))
        }
    }
}

/// The signed-in account, if it is an office account (`what`: what it is about to do).
fn office(state: &AppState, what: &str) -> Answer<Account> {
    let me = me(state)?;
    me.require_office(what).map_err(say)?;
    Ok(me)
}

/// The signed-in account, if it sees `class`.
fn teacher_of(state: &AppState, class: &str) -> Answer<Account> {
    let me = me(state)?;
    me.require_class(class).map_err(say)?;
    Ok(me)
}

/// Sign in (on a database with no account yet, this creates the first office account).
#[tauri::command(async)]
pub fn sign_in(state: State<'_, AppState>, name: String, password: String) -> Answer<Value> {
    let mut store = state.store();
    let signed = accounts::sign_in(&mut store, &name, &password, "app").map_err(say)?;
    let idle = settings::idle_lock_minutes(&mut store).map_err(say)?;
    drop(store);
    let account = signed.account.clone();
    *state.presence.lock().unwrap_or_else(|e| e.into_inner()) = Some(Presence::new(signed.account, idle));
    Ok(json!({ "account": account, "created": signed.created }))
}

/// Sign out (or lock the app after the idle time). A running session goes on.
#[tauri::command(async)]
pub fn sign_out(state: State<'_, AppState>, idle: Option<bool>) -> Answer<()> {
    let gone = state.presence.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = gone {
        let (action, why) =
            if idle.unwrap_or(false) { ("locked", IdleLocked(p.idle_minutes()).to_string()) } else { ("sign_out", "signed out of the app".to_string()) };
        state.store().audit_database_event(&p.account.name, action, why).map_err(say)?;
    }
    Ok(())
}

fn date(s: &str) -> Answer<NaiveDate> {
    Ok(parse_date(s)?)
}

fn time(s: Option<&str>) -> Answer<Option<NaiveTime>> {
    Ok(s.map(str::trim).filter(|s| !s.is_empty()).map(parse_time).transpose()?)
}

#[tauri::command(async)]
pub fn app_info(app: tauri::AppHandle) -> Answer<Value> {
    use tauri::Manager;
    let Some(state) = app.try_state::<AppState>() else {
        let why = app.try_state::<StartupFailure>().map_or_else(|| "Rollcall is still starting".to_string(), |f| f.0.clone());
        return Err(Failure { code: "startup", message: format!("Rollcall could not open its database: {why}") });
    };
    let mut store = state.store();
    let mut values = serde_json::Map::new();
    for key in settings::KEYS {
        values.insert(key.into(), store.setting(key).map_err(say)?.map_or(Value::Null, Value::String));
    }
    let (engine, engine_error) = state.engine_status();
    let accounts_exist = store.account_count().map_err(say)? > 0;
    let idle_lock_minutes = settings::idle_lock_minutes(&mut store).map_err(say)?;
    drop(store);
    // Looked at, not touched: the window asking again is not someone using the app.
    let account = state.presence.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|p| p.account.clone());
    let store = state.store();
    Ok(json!({
        "account": account,
        "accounts_exist": accounts_exist,
        "idle_lock_minutes": idle_lock_minutes,
        "version": env!("CARGO_PKG_VERSION"),
        "database": store.path(),
        "data_folder": store.path().parent(),
        "on_server": store.is_server(),
        "engine": engine,
        "engine_error": engine_error,
        "session_running": state.session_running(),
        "settings": values,
    }))
}

/// Settings' "About this installation": the same report as `rollcall-app --self-test`, for the
/// database this window has open.
#[tauri::command(async)]
pub fn self_test(app: tauri::AppHandle) -> rollcall::self_test::Report {
    use tauri::Manager;
    let database = match app.try_state::<AppState>() {
        Some(state) => state.store().path().to_path_buf(),
        None => crate::state::database_path(app.path().app_config_dir().ok().as_deref()).unwrap_or_else(Store::default_path),
    };
    rollcall::self_test::run(&rollcall::self_test::Options { models_dir: None, database })
}

#[tauri::command(async)]
pub fn save_settings(state: State<'_, AppState>, settings: serde_json::Map<String, Value>) -> Answer<Value> {
    office(&state, "change settings")?;
    // Check every value before storing any.
    let values: Vec<(String, String)> = settings
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            rollcall::settings::validate(&key, &text).map(|()| (key, text))
        })
        .collect::<Result<_, _>>()?;
    let mut store = state.store();
    for (key, value) in &values {
        rollcall::settings::set(&mut store, key, value).map_err(say)?;
    }
    // Mood switched off: the UI offers to delete what earlier sessions stored.
    let mood_off = values.iter().any(|(k, v)| k == rollcall::settings::MOOD && v == "off");
    let moods_kept = if mood_off { store.mood_count().map_err(say)? } else { 0 };
    // A new idle time applies from now on.
    let idle = settings::idle_lock_minutes(&mut store).map_err(say)?;
    drop(store);
    if let Some(p) = state.presence.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        *p = Presence::new(p.account.clone(), idle);
    }
    Ok(json!({ "moods_kept": moods_kept }))
}

/// Delete every stored mood summary (offered when mood recognition is switched off).
#[tauri::command(async)]
pub fn purge_moods(state: State<'_, AppState>) -> Answer<Value> {
    let me = office(&state, "delete stored moods")?;
    let n = state.store().purge_moods(&me.name).map_err(say)?;
    Ok(json!({ "deleted": n }))
}

/// Move to (or create) the database in another folder, e.g. a backed-up network share.
#[tauri::command(async)]
pub fn set_data_folder(state: State<'_, AppState>, folder: PathBuf) -> Answer<Value> {
    office(&state, "move the database")?;
    if state.session_running() {
        return Err("stop the running sessions before changing the data folder".into());
    }
    rollcall::storage::create_private_dir(&folder).map_err(say)?;
    let new = Store::open(&folder.join(DB_FILE_NAME)).map_err(say)?;
    let file = state.data_folder_file().ok_or("this system has no configuration folder to remember the choice in")?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(say)?;
    }
    std::fs::write(&file, folder.to_string_lossy().as_bytes()).map_err(say)?;
    // This PC's own file from now on, not the school's server.
    if let Some(server) = state.server_file() {
        let _ = std::fs::remove_file(server);
    }
    let path = new.path().to_path_buf();
    *state.store() = new;
    state.reset_rooms();
    Ok(json!({ "database": path }))
}

/// Use the school's PostgreSQL server as the register (Settings: "the school's server"): the
/// address (`postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require]`), the school in a district's
/// database, and the password, which is kept in a password file of the app's own (libpq's
/// format, readable by this user only), never in the settings. Opened before it is remembered:
/// a wrong password or an unreachable server is an error and the register stays where it was.
/// The accounts are the server's: whoever was signed in signs in again there.
#[tauri::command(async)]
pub fn set_register_server(state: State<'_, AppState>, address: String, school: Option<String>, password: Option<String>) -> Answer<Value> {
    use rollcall::storage::server::{School, ServerUrl};
    office(&state, "move the register to the school's server")?;
    if state.session_running() {
        return Err("stop the running sessions before changing where the register is".into());
    }
    let mut url = ServerUrl::parse(address.trim()).map_err(say)?;
    if let Some(school) = school.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        url = url.in_school(School::parse(school).map_err(say)?);
    }
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        let file = state.server_password_file().ok_or("this system has no configuration folder to keep the password in")?;
        url = url.with_password_file(&password, &file).map_err(say)?;
    }
    let new = Store::open_server(&url, &rollcall::keys::KeyStore::from_env()).map_err(say)?;
    let file = state.server_file().ok_or("this system has no configuration folder to remember the choice in")?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(say)?;
    }
    std::fs::write(&file, url.location()).map_err(say)?;
    let path = new.path().to_path_buf();
    *state.store() = new;
    state.reset_rooms();
    *state.presence.lock().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(json!({ "database": path }))
}

#[tauri::command(async)]
pub fn list_classes(state: State<'_, AppState>) -> Answer<Vec<report::ClassOverview>> {
    let me = me(&state)?;
    let all = report::class_overview(&mut state.store()).map_err(say)?;
    Ok(all.into_iter().filter(|c| me.sees_class(&c.name)).collect())
}

#[tauri::command(async)]
pub fn create_class(state: State<'_, AppState>, name: String, start: Option<String>, late_after_minutes: i32) -> Answer<()> {
    office(&state, "create classes")?;
    state.store().create_class(&name, time(start.as_deref())?, late_after_minutes.max(0)).map_err(say)?;
    Ok(())
}

#[tauri::command(async)]
pub fn update_class(state: State<'_, AppState>, name: String, start: Option<String>, late_after_minutes: i32) -> Answer<()> {
    office(&state, "change a class's lesson rules")?;
    state.store().set_class_rules(&name, time(start.as_deref())?, late_after_minutes.max(0)).map_err(say)?;
    Ok(())
}

/// What importing the file would change (adds, changes old -> new, students missing), with any problems.
#[tauri::command(async)]
pub fn roster_preview(state: State<'_, AppState>, path: PathBuf, remove_missing: Option<bool>) -> Answer<Value> {
    office(&state, "import rosters")?;
    let plan = read_roster(&path).map_err(say)?;
    let options = RosterOptions { dry_run: true, remove_missing: remove_missing.unwrap_or(false) };
    let changes = rollcall::roster::apply(&mut state.store(), &plan.entries, options, "roster preview").map_err(say)?;
    Ok(json!({"entries": plan.entries, "problems": plan.problems, "encoding": plan.encoding, "changes": changes}))
}

#[tauri::command(async)]
pub fn roster_import(state: State<'_, AppState>, path: PathBuf, remove_missing: Option<bool>) -> Answer<Value> {
    let me = office(&state, "import rosters")?;
    let plan = read_roster(&path).map_err(say)?;
    if !plan.problems.is_empty() {
        return Err(format!("nothing imported: {} row(s) need fixing (see the preview)", plan.problems.len()).into());
    }
    let options = RosterOptions { dry_run: false, remove_missing: remove_missing.unwrap_or(false) };
    let changes = rollcall::roster::apply(&mut state.store(), &plan.entries, options, &me.name).map_err(say)?;
    Ok(serde_json::to_value(changes).map_err(say)?)
}

#[tauri::command(async)]
pub fn list_students(state: State<'_, AppState>, class: Option<String>) -> Answer<Value> {
    let me = match class.as_deref() {
        Some(c) => teacher_of(&state, c)?,
        None => me(&state)?,
    };
    let mut rows = state.store().students(class.as_deref()).map_err(say)?;
    rows.retain(|r| me.sees_student_in(&r.classes));
    Ok(Value::Array(
        rows.iter()
            .map(|r| {
                let s = &r.student;
                json!({"student_id": s.student_id, "first_name": s.first_name, "last_name": s.last_name, "name": s.name(), "class": r.class, "classes": r.classes, "enrolled_photos": r.enrolled_photos, "consent": r.consent})
            })
            .collect(),
    ))
}

/// Which students to photograph again before a roll (`rollcall::enrolment::check_photos`): of a
/// class for its lessons, or (no class) of every class for the entrance.
#[tauri::command(async)]
pub fn check_photos(state: State<'_, AppState>, class: Option<String>) -> Answer<Value> {
    match class.as_deref() {
        Some(c) => teacher_of(&state, c)?,
        None => office(&state, "check the entrance's photos")?,
    };
    let roll_of = class.map_or(RollOf::Entrance(Vec::new()), RollOf::Class);
    let model_id = state.engine()?.with(|a| a.embedder.model_id());
    let check = rollcall::enrolment::check_photos(&mut state.store(), &roll_of, model_id).map_err(say)?;
    Ok(serde_json::to_value(check).map_err(say)?)
}

#[tauri::command(async)]
pub fn delete_student(state: State<'_, AppState>, student_id: String) -> Answer<()> {
    let me = office(&state, "delete students")?;
    state.store().delete_student(&student_id, &me.name).map_err(say)
}

#[tauri::command(async)]
pub fn enrol_photos(state: State<'_, AppState>, student_id: String, photos: Vec<PathBuf>, allow_lookalike: Option<bool>) -> Answer<Value> {
    office(&state, "enrol students")?;
    let work: Vec<(String, PathBuf)> = photos.into_iter().map(|p| (student_id.clone(), p)).collect();
    let options = EnrolOptions { allow_lookalike: allow_lookalike.unwrap_or(false) };
    // Photo by photo, each taking its turn with the rooms' frames (a running roll never waits
    // for a whole batch of photos).
    let mut verdicts = Vec::with_capacity(work.len());
    for one in work.chunks(1) {
        let mut store = state.store();
        verdicts.extend(state.engine()?.with(|analyzer| rollcall::enrolment::enrol_photos(&mut store, analyzer, one, options, |_| {})).map_err(say)?);
    }
    let model_id = state.engine()?.with(|a| a.embedder.model_id());
    let advice = rollcall::enrolment::advice(&mut state.store(), &student_id, model_id).map_err(say)?;
    Ok(json!({ "verdicts": verdicts, "advice": advice }))
}

#[tauri::command(async)]
pub fn probe_cameras() -> Vec<i32> {
    rollcall::source::probe_cameras(4)
}

#[derive(Debug, Serialize)]
pub struct Started {
    pub class: String,
    /// The lesson this room registers ("HH:MM"): with the class, the room's name in live messages.
    pub lesson: String,
    pub source: String,
}

/// A room taking the roll, as the Live page lists it.
#[derive(Debug, Serialize)]
pub struct RoomView {
    pub class: String,
    pub lesson: String,
    pub source: String,
    pub by_hand: bool,
}

/// Listen to every room: frames, marks and troubles arrive on `channel`, each tagged with its
/// room (a later call replaces the listener). Returns the rooms running now.
#[tauri::command(async)]
pub fn live_watch(state: State<'_, AppState>, channel: Channel<RoomMessage>) -> Answer<Vec<RoomView>> {
    let me = me(&state)?;
    state.feed.listen(channel, me.clone());
    let rooms = if state.engine.get().is_some_and(|e| e.is_ok()) { state.with_rooms(|r| r.list())? } else { Vec::new() };
    Ok(rooms
        .into_iter()
        .filter(|r| me.sees_class(&r.lesson.class))
        .map(|r| RoomView { class: r.lesson.class.clone(), lesson: r.lesson.start.format("%H:%M").to_string(), source: r.source, by_hand: r.by_hand })
        .collect())
}

/// Start taking a class's roll in a room of its own (other rooms keep running). Its messages
/// arrive on the `live_watch` channel; it runs until `session_stop`, the end of a video file,
/// or the window closing.
#[tauri::command(async)]
pub fn session_start(state: State<'_, AppState>, class: String, source: String, start: Option<String>, entrance: Option<bool>) -> Answer<Started> {
    let entrance = entrance.unwrap_or(false);
    if entrance {
        office(&state, "take the entrance's roll")?;
    } else {
        teacher_of(&state, &class)?;
    }
    let start = time(start.as_deref())?;
    AppState::stop(&state.preview);
    let spec = SourceSpec::parse(&source);
    // A camera is opened by one room at a time (a file may be played by several).
    if spec.is_live() {
        if let Some(busy) = state.with_rooms(|r| r.watching(&spec.describe()).cloned())? {
            return Err(format!(
                "{} is already taking class {}'s roll (lesson {}): stop that room first, or choose another camera",
                spec.describe(),
                busy.class,
                busy.start.format("%H:%M")
            )
            .into());
        }
    }
    let model_id = state.engine()?.with(|a| a.embedder.model_id());
    let (plan, lesson) = {
        let mut store = state.store();
        let defaults = settings::session_defaults(&mut store).map_err(say)?;
        let plan = SessionPlan {
            // A video file stands in for a camera here: play it at its own speed.
            realtime: true,
            start,
            ..defaults.apply(if entrance { SessionPlan::entrance(Vec::new(), spec.clone()) } else { SessionPlan::new(&class, spec.clone()) })
        };
        // A session that cannot watch is refused here, before the camera opens.
        let classes = check_plan(&mut store, &plan, model_id).map_err(say)?;
        let now = chrono::Local::now().naive_local();
        let lesson = match classes.first() {
            // The entrance's room is named by when it opened (each student's mark goes to their lesson).
            _ if entrance => {
                LessonOn { date: now.date(), class: rollcall::schedule::entrance_name(""), start: NaiveTime::from_hms_opt(now.hour(), now.minute(), 0).unwrap_or(NaiveTime::MIN) }
            }
            Some(klass) => {
                LessonOn { date: now.date(), class: class.clone(), start: lessons::for_run(&mut store, klass, now, start).map_err(say)?.lesson.start }
            }
            None => return Err("no such class".into()),
        };
        (plan, lesson)
    };
    // Opened here, so a missing camera is reported at once.
    let source = FrameSource::open(spec.clone()).map_err(say)?;
    let events = state.with_rooms(|r| r.start_by_hand(lesson.clone(), plan, source))??;
    camera::announce(&state.feed, events);
    Ok(Started { class: lesson.class.clone(), lesson: lesson.start.format("%H:%M").to_string(), source: spec.describe() })
}

/// Stop one room (its class and lesson), or every room this account sees.
#[tauri::command(async)]
pub fn session_stop(state: State<'_, AppState>, class: Option<String>, lesson: Option<String>) -> Answer<()> {
    let me = me(&state)?;
    let running = state.with_rooms(|r| r.running())?;
    let lesson = time(lesson.as_deref())?;
    let chosen: Vec<LessonOn> = running
        .into_iter()
        .filter(|l| me.sees_class(&l.class) && class.as_ref().is_none_or(|c| *c == l.class) && lesson.is_none_or(|t| t == l.start))
        .collect();
    for l in chosen {
        let events: Vec<_> = state.with_rooms(|r| r.stop(&l))?.into_iter().collect();
        camera::announce(&state.feed, events);
    }
    Ok(())
}

/// A camera preview for enrolment, with a face-quality verdict a few times a second.
#[tauri::command(async)]
pub fn preview_start(state: State<'_, AppState>, source: String, channel: Channel<PreviewMessage>) -> Answer<()> {
    office(&state, "enrol students")?;
    let spec = SourceSpec::parse(&source);
    if spec.is_live() {
        if let Some(busy) = state.with_rooms(|r| r.watching(&spec.describe()).cloned())? {
            return Err(
                format!("{} is taking class {}'s roll: stop that room to enrol with this camera, or choose another", spec.describe(), busy.class).into()
            );
        }
    }
    AppState::stop(&state.preview);
    state.engine()?;
    let running = camera::start_preview(state.engine.clone(), spec, state.preview_frame.clone(), channel).map_err(say)?;
    *state.preview.lock().unwrap_or_else(|e| e.into_inner()) = Some(running);
    Ok(())
}

/// Enrol the preview's current frame for a student (the same checks as a photo).
#[tauri::command(async)]
pub fn preview_capture(state: State<'_, AppState>, student_id: String, allow_lookalike: Option<bool>) -> Answer<Value> {
    office(&state, "enrol students")?;
    tracing::info!(student = %student_id, "capture requested");
    // The picture the preview last judged usable (what the enabled Capture button promised),
    // not whatever frame the camera has moved on to. Taken: the next capture needs a new one.
    let frame = state.preview_frame.lock().unwrap_or_else(|e| e.into_inner()).take().ok_or("no new usable camera picture yet: wait for \"Good picture\"")?;
    let label = format!("camera {}", chrono::Local::now().format("%Y-%m-%d %H:%M:%S"));
    let options = EnrolOptions { allow_lookalike: allow_lookalike.unwrap_or(false) };
    let (verdict, model_id) = state
        .engine()?
        .with(|analyzer| {
            tracing::info!("capture: engine ready");
            rollcall::enrolment::enrol_image(&mut state.store(), analyzer, &student_id, &frame, &label, options).map(|v| (v, analyzer.embedder.model_id()))
        })
        .map_err(say)?;
    tracing::info!(accepted = verdict.is_ok(), "capture judged");
    let advice = rollcall::enrolment::advice(&mut state.store(), &student_id, model_id).map_err(say)?;
    Ok(match verdict {
        Ok(a) => {
            json!({"accepted": true, "face_size": a.face_size, "sharpness": a.sharpness, "advice": advice})
        }
        Err(reason) => json!({"accepted": false, "reason": reason, "advice": advice}),
    })
}

#[tauri::command(async)]
pub fn preview_stop(state: State<'_, AppState>) -> Answer<()> {
    AppState::stop(&state.preview);
    Ok(())
}

#[tauri::command(async)]
pub fn report_daily(state: State<'_, AppState>, class: String, date: String) -> Answer<report::DailyReport> {
    teacher_of(&state, &class)?;
    report::daily(&mut state.store(), &class, self::date(&date)?).map_err(say)
}

#[tauri::command(async)]
pub fn report_history(state: State<'_, AppState>, student_id: String, from: String, to: String) -> Answer<report::StudentHistory> {
    let me = me(&state)?;
    let h = report::history(&mut state.store(), &student_id, date(&from)?, date(&to)?).map_err(say)?;
    me.require_student(&h.student_id, std::slice::from_ref(&h.class)).map_err(say)?;
    Ok(h)
}

#[tauri::command(async)]
pub fn report_summary(state: State<'_, AppState>, class: String, from: String, to: String) -> Answer<report::ClassSummary> {
    teacher_of(&state, &class)?;
    report::summary(&mut state.store(), &class, date(&from)?, date(&to)?).map_err(say)
}

#[tauri::command(async)]
pub fn override_mark(
    state: State<'_, AppState>,
    class: String,
    date: String,
    lesson: Option<String>,
    student_id: String,
    status: String,
    reason: String,
) -> Answer<Value> {
    let me = teacher_of(&state, &class)?;
    let status: Status = status.parse()?;
    let register = RegisterRef { class: &class, date: self::date(&date)?, lesson: time(lesson.as_deref())? };
    let o = rollcall::attendance::override_mark(&mut state.store(), &register, &student_id, status, &reason, &me.name).map_err(say)?;
    Ok(serde_json::to_value(o).map_err(say)?)
}

/// The week's lessons of the classes this account sees (a stream's password is never shown).
#[tauri::command(async)]
pub fn timetable(state: State<'_, AppState>) -> Answer<Vec<rollcall::storage::Lesson>> {
    let me = me(&state)?;
    let week = state.store().timetable(None).map_err(say)?;
    Ok(week.into_iter().filter(|l| me.sees_class(&l.class)).map(rollcall::timetable::shown).collect())
}

/// Check a timetable file (`dry_run`) or import it: the week of the classes it names is
/// replaced, all or nothing, as `rollcall timetable import` does.
#[tauri::command(async)]
pub fn timetable_import(state: State<'_, AppState>, path: PathBuf, dry_run: bool) -> Answer<rollcall::timetable::TimetableImport> {
    let me = office(&state, "import the timetable")?;
    rollcall::timetable::import_file(&mut state.store(), &path, dry_run, &me.name).map_err(say)
}

/// Change one lesson from the Timetable page: `was` names the stored lesson (none: add), `now`
/// is what it becomes (none: remove). Checked against the rest of the week as an import is.
#[tauri::command(async)]
pub fn timetable_edit(
    state: State<'_, AppState>,
    was: Option<rollcall::timetable::LessonRef>,
    now: Option<rollcall::timetable::LessonInput>,
) -> Answer<Option<rollcall::storage::Lesson>> {
    let me = office(&state, "change the timetable")?;
    rollcall::timetable::edit_lesson(&mut state.store(), was.as_ref(), now.as_ref(), &me.name).map_err(say)
}

/// Export to `path`. An existing file is replaced only with `overwrite` (the UI asks first: the
/// error's code is `exists`).
#[tauri::command(async)]
pub fn export_xlsx(state: State<'_, AppState>, class: String, from: String, to: String, path: PathBuf, overwrite: Option<bool>) -> Answer<Value> {
    let me = teacher_of(&state, &class)?;
    let summary = report::xlsx::export(&mut state.store(), &class, date(&from)?, date(&to)?, &path, overwrite.unwrap_or(false), &me.name).map_err(say)?;
    Ok(json!({"path": path, "students": summary.students.len(), "lessons": summary.lessons.len()}))
}

/// Where an export goes unless the user picks another place: the Documents folder.
#[tauri::command(async)]
pub fn default_export_path(class: String, from: String, to: String) -> Answer<PathBuf> {
    Ok(documents().join(report::xlsx::default_file_name(&class, date(&from)?, date(&to)?)))
}

/// The user's Documents folder (else their home; else the working folder).
fn documents() -> PathBuf {
    let dirs = directories::UserDirs::new();
    dirs.as_ref().and_then(|u| u.document_dir().map(PathBuf::from)).or_else(|| dirs.as_ref().map(|u| u.home_dir().to_path_buf())).unwrap_or_default()
}

// ---- consent, registration by hand, retention, access requests -------------------------------

/// A student's consent as it stands, with its full history.
#[tauri::command(async)]
pub fn consent_history(state: State<'_, AppState>, student_id: String) -> Answer<rollcall::privacy::ConsentHistory> {
    office(&state, "see consent records")?;
    rollcall::privacy::consent_of(&mut state.store(), &student_id).map_err(say)
}

/// Record one consent event (the same checks as `rollcall consent`).
#[tauri::command(async)]
pub fn record_consent(state: State<'_, AppState>, student_id: String, request: ConsentRequest) -> Answer<Value> {
    let me = office(&state, "record consent")?;
    let r = rollcall::privacy::record_consent(&mut state.store(), &student_id, request, &me.name).map_err(say)?;
    Ok(serde_json::to_value(r).map_err(say)?)
}

/// "Consent forms received" for several students at once (a class's returned forms): one event
/// each, all checked before any is written.
#[tauri::command(async)]
pub fn record_consent_bulk(state: State<'_, AppState>, student_ids: Vec<String>, request: ConsentRequest) -> Answer<Value> {
    let me = office(&state, "record consent")?;
    let recorded = rollcall::privacy::record_consent_bulk(&mut state.store(), &student_ids, request, &me.name).map_err(say)?;
    Ok(json!({ "recorded": recorded }))
}

/// Register a student by hand (the alternative to the camera).
#[tauri::command(async)]
pub fn mark_by_hand(state: State<'_, AppState>, class: String, date: String, lesson: Option<String>, student_id: String, status: String) -> Answer<Value> {
    let me = teacher_of(&state, &class)?;
    let status: Status = status.parse()?;
    let register = RegisterRef { class: &class, date: self::date(&date)?, lesson: time(lesson.as_deref())? };
    let o = rollcall::attendance::mark_by_hand(&mut state.store(), &register, &student_id, status, &me.name).map_err(say)?;
    Ok(serde_json::to_value(o).map_err(say)?)
}

/// Apply the retention settings now (or, `dry_run`, say what is due).
#[tauri::command(async)]
pub fn purge(state: State<'_, AppState>, dry_run: bool) -> Answer<rollcall::retention::PurgeReport> {
    let me = office(&state, "purge data")?;
    rollcall::retention::purge(&mut state.store(), dry_run, &me.name).map_err(say)
}

/// The school's privacy report (Markdown).
#[tauri::command(async)]
pub fn privacy_report(state: State<'_, AppState>) -> Answer<String> {
    office(&state, "write the privacy report")?;
    rollcall::privacy::report(&mut state.store()).map_err(say)
}

/// Save the privacy report to `path` (code `exists`: ask before replacing).
#[tauri::command(async)]
pub fn save_privacy_report(state: State<'_, AppState>, path: PathBuf, overwrite: Option<bool>) -> Answer<Value> {
    office(&state, "write the privacy report")?;
    rollcall::privacy::write_report(&mut state.store(), &path, overwrite.unwrap_or(false)).map_err(say)?;
    Ok(json!({ "path": path }))
}

/// Everything held about a student, written to `path` as JSON (code `exists`: ask first).
#[tauri::command(async)]
pub fn export_student(state: State<'_, AppState>, student_id: String, path: PathBuf, overwrite: Option<bool>) -> Answer<Value> {
    let me = office(&state, "export a student's data")?;
    let e = rollcall::privacy::write_student_export(&mut state.store(), &student_id, &path, overwrite.unwrap_or(false), &me.name).map_err(say)?;
    Ok(json!({ "path": path, "marks": e.marks.len(), "consent_events": e.consent.len(), "templates": e.face_templates.count }))
}

/// Where a file the user saves goes unless they pick another place: the Documents folder.
#[tauri::command(async)]
pub fn default_document_path(name: String) -> PathBuf {
    documents().join(rollcall::files::safe_file_name(&name))
}

/// A student leaves the school: archived (register kept), face data deleted as the retention
/// policy says.
#[tauri::command(async)]
pub fn leave_school(state: State<'_, AppState>, student_id: String) -> Answer<Value> {
    let me = office(&state, "record that a student left")?;
    let l = rollcall::privacy::leave_school(&mut state.store(), &student_id, &me.name).map_err(say)?;
    Ok(serde_json::to_value(l).map_err(say)?)
}

// ---- backups ----------------------------------------------------------------------------------

/// An encrypted backup now, to `path` (code `exists`: ask before replacing).
#[tauri::command(async)]
pub fn backup_now(state: State<'_, AppState>, path: PathBuf, passphrase: String, overwrite: Option<bool>) -> Answer<rollcall::backup::BackupHeader> {
    let me = office(&state, "back up the register")?;
    rollcall::backup::backup(&mut state.store(), &path, &passphrase, overwrite.unwrap_or(false), &me.name).map_err(say)
}

/// The automatic backup as it stands: whether its passphrase is set, and the backups in its folder.
#[tauri::command(async)]
pub fn backup_status(state: State<'_, AppState>) -> Answer<Value> {
    office(&state, "back up the register")?;
    let mut store = state.store();
    let folder = store.setting(settings::BACKUP_FOLDER).map_err(say)?.filter(|f| !f.is_empty());
    let backups = folder.as_deref().map(|f| rollcall::backup::auto_backups(std::path::Path::new(f))).unwrap_or_default();
    Ok(json!({ "passphrase_set": rollcall::backup::auto_passphrase_set(&mut store).map_err(say)?, "folder": folder, "backups": backups }))
}

/// Keep the automatic backups' passphrase.
#[tauri::command(async)]
pub fn set_backup_passphrase(state: State<'_, AppState>, passphrase: String) -> Answer<()> {
    let me = office(&state, "set the automatic backups' passphrase")?;
    rollcall::backup::set_auto_passphrase(&mut state.store(), &passphrase, &me.name).map_err(say)
}

/// Run the automatic backup now (a new one even if today's exists).
#[tauri::command(async)]
pub fn auto_backup_now(state: State<'_, AppState>) -> Answer<rollcall::backup::AutoBackup> {
    let me = office(&state, "back up the register")?;
    rollcall::backup::auto_backup(&mut state.store(), chrono::Local::now().naive_local(), true, &me.name).map_err(say)
}
