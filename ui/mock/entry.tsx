// The UI with the mocked backend, for the headless-browser test (never shipped).
import { render } from "preact";
import { App } from "../src/app";
import "../src/styles.css";
import { freshState, installMockBackend } from "./backend";

installMockBackend(freshState(new URLSearchParams(location.search).has("ready")));
render(<App />, document.getElementById("app")!);
