import { clearMocks } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, expect, test } from "vitest";
import { freshState, installMockBackend } from "../mock/backend";
import { App } from "./app";
import { MoodBars, StatusChip } from "./components/common";
import { kindOf } from "./components/source";

afterEach(() => {
  cleanup();
  clearMocks();
});

test("status chips carry the status for people and tests", () => {
  render(<StatusChip status="late" manual />);
  const chip = screen.getByText(/Late/);
  expect(chip.getAttribute("data-status")).toBe("late");
  expect(chip.textContent).toContain("✎");
});

test("mood bars show each share as a percentage, largest first", () => {
  const { container } = render(<MoodBars distribution={{ neutral: 0.25, happy: 0.75 }} label="happy" />);
  const names = [...container.querySelectorAll(".mood-name")].map((n) => n.textContent);
  expect(names).toEqual(["happy", "neutral"]);
  expect(screen.getByText("75%")).toBeTruthy();
});

test("a source is a camera number, a URL or a file", () => {
  expect(kindOf("0")).toBe("camera");
  expect(kindOf("rtsp://10.0.0.5/stream")).toBe("url");
  expect(kindOf("/videos/door.mp4")).toBe("file");
});

test("first run asks the mood question before anything else happens", async () => {
  const state = freshState(false);
  installMockBackend(state);
  render(<App />);
  await screen.findByText("Welcome to Rollcall");
  fireEvent.click(screen.getByText("Start using Rollcall"));
  await screen.findByText(/choose whether mood recognition is on or off/);
  expect(state.calls.some((c) => c.cmd === "save_settings")).toBe(false);

  fireEvent.input(screen.getByLabelText(/School name/), { target: { value: "Hill School" } });
  // The first office account is created by the setup, from the name and password given.
  fireEvent.input(screen.getByLabelText(/Your name/), { target: { value: "Ms Head" } });
  fireEvent.input(screen.getByLabelText(/^Password/), { target: { value: "a long password" } });
  fireEvent.input(screen.getByLabelText(/The same again/), { target: { value: "a long password" } });
  fireEvent.click(screen.getByDisplayValue("off"));
  fireEvent.click(screen.getByText("Start using Rollcall"));
  await waitFor(() => expect(state.settings.setup_done).toBe("yes"));
  expect(state.settings.mood).toBe("off");
  expect(state.settings.school_name).toBe("Hill School");
  expect(state.accounts["Ms Head"]?.role).toBe("office");
  await screen.findByText("Hill School");
  expect(screen.getByText(/Ms Head \(office\)/)).toBeTruthy();
});

test("a teacher signs in and sees Live, Reports and Timetable for their own classes only", async () => {
  const state = freshState(true);
  state.classes.push({ name: "8C", session_start: null, late_after_minutes: 5 });
  state.accounts["Mr Chips"] = { name: "Mr Chips", role: "teacher", classes: ["8C"], password: "teacher password" };
  state.account = null;
  installMockBackend(state);
  const { container } = render(<App />);
  await screen.findByText("Who is using Rollcall?");
  fireEvent.input(screen.getByLabelText(/^Name/), { target: { value: "Mr Chips" } });
  fireEvent.input(screen.getByLabelText(/^Password/), { target: { value: "wrong password" } });
  fireEvent.click(screen.getByText("Sign in"));
  await screen.findByText(/wrong password/);
  fireEvent.input(screen.getByLabelText(/^Password/), { target: { value: "teacher password" } });
  fireEvent.click(screen.getByText("Sign in"));
  await screen.findByText(/Mr Chips \(teacher: 8C\)/);
  const tabs = [...container.querySelectorAll('[role="tab"]')].map((t) => t.textContent);
  expect(tabs).toEqual(["Live", "Reports", "Timetable"]);
  const options = [...container.querySelectorAll('select[name="class"] option')].map((o) => o.textContent);
  expect(options.join(" ")).not.toContain("7B");
  fireEvent.click(screen.getByText("Sign out"));
  await screen.findByText("Who is using Rollcall?");
  expect(state.account).toBeNull();
});

test("the live roster shows what the backend reports as a session marks a student", async () => {
  const state = freshState(true);
  installMockBackend(state);
  const { container } = render(<App />);
  await screen.findByText("Start session");
  const chip = () => container.querySelector('li[data-student="S1"] .chip')?.getAttribute("data-status");
  await waitFor(() => expect(chip()).toBe("absent"));
  // An unenrolled student is pointed out.
  expect(screen.getByText(/Alan Turing/)).toBeTruthy();
  fireEvent.click(screen.getByText("Start session"));
  await waitFor(() => expect(chip()).toBe("present"));
  expect(state.calls.filter((c) => c.cmd === "report_daily").length).toBeGreaterThan(1);
  await screen.findByText(/Ada Lovelace: present/);
});

test("a session whose school's server is away says its marks are kept on this PC", async () => {
  const state = freshState(true);
  state.serverAway = true;
  installMockBackend(state);
  render(<App />);
  fireEvent.click(await screen.findByText("Start session"));
  const notice = await screen.findByTestId("register-away");
  expect(notice.textContent).toContain("The school's server cannot be reached: 1 sighting(s) are kept on this PC");
});

test("Settings put the register on the school's server with its school, and ask to sign in there", async () => {
  const state = freshState(true);
  installMockBackend(state);
  const { container } = render(<App />);
  fireEvent.click(await screen.findByText("Settings"));
  fireEvent.click(await screen.findByText(/Use the school's server/));
  const field = (name: string) => container.querySelector(`[name="${name}"]`) as HTMLInputElement;
  fireEvent.input(field("server-address"), { target: { value: " postgres://rollcall@db.example/district?sslmode=require " } });
  fireEvent.input(field("server-school"), { target: { value: "north" } });
  fireEvent.input(field("server-password"), { target: { value: "s3cret" } });
  fireEvent.click(screen.getByText("Use the server"));
  await screen.findByText("Who is using Rollcall?");
  const sent = state.calls.find((c) => c.cmd === "set_register_server")!.args;
  expect(sent).toMatchObject({ address: "postgres://rollcall@db.example/district?sslmode=require", school: "north", password: "s3cret" });
  expect(state.server).toBe("postgres://rollcall@db.example/district?school=north");
});

test("a lesson added on the Timetable page is sent with every field as typed", async () => {
  const state = freshState(true);
  installMockBackend(state);
  const { container } = render(<App />);
  fireEvent.click(await screen.findByText("Timetable"));
  fireEvent.click(await screen.findByText("Add a lesson"));
  const field = (name: string) => container.querySelector(`[name="${name}"]`) as HTMLInputElement;
  await waitFor(() => expect(field("lesson-from")).toBeTruthy());
  fireEvent.change(field("lesson-weekday"), { target: { value: "Tue" } });
  fireEvent.input(field("lesson-from"), { target: { value: "10:00" } });
  fireEvent.input(field("lesson-to"), { target: { value: "10:50" } });
  fireEvent.input(field("lesson-room"), { target: { value: "Lab" } });
  fireEvent.click(screen.getByText("Add the lesson"));
  await screen.findByText(/Added: 7B Tue 10:00–10:50 room Lab/);
  const sent = state.calls.find((c) => c.cmd === "timetable_edit")!.args as { was: unknown; now: Record<string, string> };
  expect(sent.was).toBeNull();
  expect(sent.now).toMatchObject({ class: "7B", weekday: "Tue", start: "10:00", end: "10:50", room: "Lab" });
});
