fn main() {
    // WebKitGTK links the system SQLite; our bundled SQLite (through diesel) must not be
    // exported from the binary, or WebKit silently binds to our copy (see STACK-NOTES).
    println!("cargo:rustc-link-arg-bins=-Wl,--exclude-libs,ALL");
    tauri_build::build()
}
