// Choosing where frames come from: a camera by number, a video file, or a network stream.
import { open } from "@tauri-apps/plugin-dialog";
import { useEffect, useState } from "preact/hooks";
import { api } from "../api";

type Kind = "camera" | "file" | "url";

export function kindOf(source: string): Kind {
  if (/^\d+$/.test(source.trim())) return "camera";
  if (source.includes("://")) return "url";
  return "file";
}

export function SourcePicker({ value, onChange, id }: { value: string; onChange: (s: string) => void; id: string }) {
  const [kind, setKind] = useState<Kind>(kindOf(value || "0"));
  const [cameras, setCameras] = useState<number[] | null>(null);

  useEffect(() => {
    if (kind === "camera" && cameras === null) {
      api.probeCameras().then(setCameras, () => setCameras([]));
    }
  }, [kind]);

  const choose = (k: Kind) => {
    setKind(k);
    onChange(k === "camera" ? "0" : "");
  };

  return (
    <fieldset class="source-picker" id={id}>
      <legend>Camera</legend>
      <div class="segmented" role="radiogroup" aria-label="Kind of source">
        {(["camera", "file", "url"] as Kind[]).map((k) => (
          <label key={k} class={kind === k ? "on" : ""}>
            <input type="radio" name={`${id}-kind`} id={`${id}-${k}`} value={k} checked={kind === k} onChange={() => choose(k)} />
            {k === "camera" ? "Webcam" : k === "file" ? "Video file" : "Network (RTSP)"}
          </label>
        ))}
      </div>
      {kind === "camera" ? (
        <div class="row">
          <select aria-label="Camera number" value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
            {[...new Set([...(cameras ?? []), Number(value) || 0])].sort().map((i) => (
              <option key={i} value={String(i)}>
                Camera {i}
                {cameras && !cameras.includes(i) ? " (not found)" : ""}
              </option>
            ))}
          </select>
          {cameras !== null && cameras.length === 0 ? <span class="hint">No working camera found: choose a video file or a network stream.</span> : null}
        </div>
      ) : kind === "file" ? (
        <div class="row">
          <input name="source-file" aria-label="Video file" placeholder="/path/to/video.mp4" value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
          <button
            type="button"
            onClick={async () => {
              const f = await open({ multiple: false, filters: [{ name: "Video", extensions: ["mp4", "avi", "mkv", "mov", "webm"] }] });
              if (typeof f === "string") onChange(f);
            }}
          >
            Browse…
          </button>
        </div>
      ) : (
        <div class="row">
          <input name="source-url" aria-label="Stream address" placeholder="rtsp://camera.local/stream" value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} />
        </div>
      )}
    </fieldset>
  );
}
