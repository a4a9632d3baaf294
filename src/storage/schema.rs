// Mirrors migrations/ (kept by hand; `diesel print-schema` would write the same).

diesel::table! {
    classes (id) {
        id -> Integer,
        name -> Text,
        session_start -> Nullable<Text>,
        late_after_minutes -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    students (id) {
        id -> Integer,
        student_id -> Text,
        first_name -> Text,
        last_name -> Text,
        created_at -> Timestamp,
        last_recognised_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consent_events (id) {
        id -> Integer,
        student_id -> Integer,
        kind -> Text,
        by_name -> Text,
        relation -> Nullable<Text>,
        event_date -> Date,
        how -> Nullable<Text>,
        note -> Nullable<Text>,
        recorded_at -> Timestamp,
        recorded_by -> Text,
    }
}

diesel::table! {
    memberships (id) {
        id -> Integer,
        student_id -> Integer,
        class_id -> Integer,
        joined_on -> Nullable<Date>,
        left_on -> Nullable<Date>,
    }
}

diesel::table! {
    enrolments (id) {
        id -> Integer,
        student_id -> Integer,
        model_id -> Text,
        embedding -> Binary,
        source -> Text,
        face_size -> Float,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        class_id -> Integer,
        date -> Date,
        lesson_start -> Text,
        ends_at -> Nullable<Timestamp>,
        starts_at -> Timestamp,
        late_after_minutes -> Integer,
        source -> Text,
        opened_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        frames -> BigInt,
        faces -> BigInt,
        heartbeat_at -> Nullable<Timestamp>,
        owner -> Nullable<Text>,
    }
}

diesel::table! {
    marks (id) {
        id -> Integer,
        session_id -> Integer,
        student_id -> Integer,
        status -> Text,
        auto_status -> Nullable<Text>,
        first_seen -> Nullable<Timestamp>,
        last_seen -> Nullable<Timestamp>,
        late_minutes -> Integer,
        confidence -> Nullable<Float>,
        source -> Text,
        review -> Nullable<Text>,
    }
}

diesel::table! {
    mood_summaries (id) {
        id -> Integer,
        session_id -> Integer,
        student_id -> Integer,
        samples -> Integer,
        dominant -> Text,
        distribution -> Text,
    }
}

diesel::table! {
    lessons (id) {
        id -> Integer,
        class_id -> Integer,
        weekday -> Integer,
        start_time -> Text,
        end_time -> Text,
        room -> Text,
        camera -> Text,
    }
}

diesel::table! {
    entrance_hours (id) {
        id -> Integer,
        weekday -> Integer,
        start_time -> Text,
        end_time -> Text,
        room -> Text,
        camera -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        session_id -> Nullable<Integer>,
        student_id -> Nullable<Integer>,
        student_ref -> Nullable<Text>,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        reason -> Text,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    accounts (id) {
        id -> Integer,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        failed_sign_ins -> Integer,
        locked_until -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_sign_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_classes (account_id, class_id) {
        account_id -> Integer,
        class_id -> Integer,
    }
}

diesel::joinable!(account_classes -> accounts (account_id));
diesel::joinable!(account_classes -> classes (class_id));
diesel::joinable!(memberships -> students (student_id));
diesel::joinable!(consent_events -> students (student_id));
diesel::joinable!(memberships -> classes (class_id));
diesel::joinable!(enrolments -> students (student_id));
diesel::joinable!(sessions -> classes (class_id));
diesel::joinable!(lessons -> classes (class_id));
diesel::joinable!(marks -> sessions (session_id));
diesel::joinable!(marks -> students (student_id));
diesel::joinable!(mood_summaries -> sessions (session_id));
diesel::joinable!(mood_summaries -> students (student_id));

diesel::allow_tables_to_appear_in_same_query!(
    classes,
    lessons,
    entrance_hours,
    students,
    memberships,
    consent_events,
    enrolments,
    sessions,
    marks,
    mood_summaries,
    audit_log,
    settings,
    accounts,
    account_classes
);
