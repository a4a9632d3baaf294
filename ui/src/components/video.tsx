// A camera picture with the faces the backend found drawn over it. The boxes are in the camera
// frame's pixels; the SVG's viewBox is the frame, so they scale with the picture.
import { useEffect, useRef } from "preact/hooks";
import type { FaceView, Picture } from "../api";
import { MOOD_COLOURS } from "./common";

/** Paints each new picture onto a canvas once it has decoded, so the old one stays on screen
 * meanwhile (swapping an <img> source blanks it while decoding: a flickering, often black view). */
function Frame({ picture }: { picture: Picture }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const img = new Image();
    img.onload = () => {
      const c = canvas.current;
      const ctx = c?.getContext("2d");
      if (!c || !ctx) return;
      if (c.width !== img.naturalWidth || c.height !== img.naturalHeight) {
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
      }
      ctx.drawImage(img, 0, 0);
      // How many pictures this view has painted: lets a test see the live view really moves.
      c.dataset.painted = String(Number(c.dataset.painted ?? 0) + 1);
    };
    img.src = `data:image/jpeg;base64,${picture.jpeg}`;
    return () => {
      img.onload = null;
    };
  }, [picture]);
  return <canvas ref={canvas} aria-label="camera" />;
}

export function VideoView({ picture, faces, placeholder, testid = "video" }: { picture: Picture | null; faces?: FaceView[]; placeholder: string; testid?: string }) {
  if (!picture) {
    return (
      <div class="video video-empty" data-testid={testid}>
        <span>{placeholder}</span>
      </div>
    );
  }
  return (
    <div class="video" data-testid={testid}>
      <Frame picture={picture} />
      <svg viewBox={`0 0 ${picture.width} ${picture.height}`} preserveAspectRatio="xMidYMid meet" aria-hidden="true">
        {(faces ?? []).map((f) => {
          const colour = f.spoof ? "#e74c3c" : f.name ? "#2ecc71" : f.stranger ? "#e67e22" : f.other_class ? "#95a5a6" : "#f1c40f";
          const w = f.face.x2 - f.face.x1;
          const label = f.spoof
            ? `possible photo or screen held up${f.name ? ` (${f.name})` : ""}`
            : f.name
              ? `${f.name}${f.mood ? ` · ${f.mood}` : ""}`
              : f.stranger
                ? "unknown"
                : f.other_class
                  ? "not in this class"
                  : "…";
          const font = Math.max(4, picture.width / 40);
          // A long label is moved left to stay inside the picture.
          const labelW = Math.max(w, label.length * font * 0.6);
          const labelX = Math.max(0, Math.min(f.face.x1, picture.width - labelW));
          return (
            <g key={f.track}>
              <rect x={f.face.x1} y={f.face.y1} width={w} height={f.face.y2 - f.face.y1} fill="none" stroke={colour} stroke-width={Math.max(2, picture.width / 300)} />
              <rect x={labelX} y={f.face.y1 - font * 1.4} width={labelW} height={font * 1.4} fill={colour} opacity={0.85} />
              <text x={labelX + 4} y={f.face.y1 - font * 0.35} font-size={font} fill="#000">
                {label}
              </text>
              {f.mood ? <circle cx={f.face.x2 - 8} cy={f.face.y2 - 8} r={6} fill={MOOD_COLOURS[f.mood]} /> : null}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
