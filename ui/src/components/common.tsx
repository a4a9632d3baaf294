// Small presentational pieces shared by the pages.
import type { ComponentChildren } from "preact";
import type { ClassInfo, ConsentState, Mood, Status } from "../api";

const STATUS_LABEL: Record<Status, string> = { present: "Present", late: "Late", absent: "Absent", excused: "Excused" };

/** A status; `null`: no register was taken that day (nobody is absent from it). */
export function StatusChip({ status, manual }: { status: Status | null; manual?: boolean }) {
  if (status === null) {
    return (
      <span class="chip chip-none" data-status="none" title="no register taken">
        —
      </span>
    );
  }
  return (
    <span class={`chip chip-${status}`} data-status={status} title={manual ? "changed by hand" : undefined}>
      {STATUS_LABEL[status]}
      {manual ? " ✎" : ""}
    </span>
  );
}

const CONSENT_LABEL: Record<ConsentState, string> = { none: "No consent", granted: "Granted", withdrawn: "Withdrawn", objected: "Objected" };

/** A student's consent as it stands (only "granted" lets the camera enrol and recognise them). */
export function ConsentChip({ state }: { state: ConsentState }) {
  return (
    <span class={`chip consent-${state}`} data-consent={state} title={state === "granted" ? "the camera may recognise them" : "registered by hand"}>
      {CONSENT_LABEL[state]}
    </span>
  );
}

export const MOOD_COLOURS: Record<Mood, string> = {
  happy: "#2e9d5b",
  neutral: "#7a869a",
  surprise: "#d89b1d",
  sad: "#3d6fb6",
  fear: "#8a5cc2",
  angry: "#c8453b",
  disgust: "#8b6d3f",
};

/** Horizontal bars of a mood distribution (fractions that sum to 1). */
export function MoodBars({ distribution, label }: { distribution: Record<string, number>; label: string }) {
  const entries = Object.entries(distribution).sort((a, b) => b[1] - a[1]);
  return (
    <figure class="mood-bars" aria-label={label}>
      <figcaption>{label}</figcaption>
      {entries.map(([mood, share]) => (
        <div class="mood-row" key={mood}>
          <span class="mood-name">{mood}</span>
          <span class="mood-track">
            <span class="mood-fill" style={{ width: `${Math.round(share * 100)}%`, background: MOOD_COLOURS[mood as Mood] ?? "#999" }} />
          </span>
          <span class="mood-pct">{Math.round(share * 100)}%</span>
        </div>
      ))}
    </figure>
  );
}

/** The class picker of the Live and Reports toolbars. */
export function ClassSelect({ name, classes, value, onChange, disabled }: { name: string; classes: ClassInfo[]; value: string; onChange: (name: string) => void; disabled?: boolean }) {
  return (
    <label>
      Class{" "}
      <select name={name} value={value} disabled={disabled} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {classes.map((c) => (
          <option key={c.name} value={c.name}>
            {c.name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** What to show where a list is empty: what it is, and what to do next. */
export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" role="status">
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

export function Notice({ kind, children, testid }: { kind: "error" | "info" | "ok"; children: ComponentChildren; testid?: string }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} data-testid={testid}>
      {children}
    </div>
  );
}

export const MOOD_NOTICE =
  "Mood recognition guesses each recognised student's facial expression. In the European Union, inferring the " +
  "emotions of students in education institutions is prohibited (AI Act, Article 5(1)(f)) except for medical or " +
  "safety reasons. Switched off, the expression model is never run and no mood is stored.";
