// The migrations are embedded at compile time (diesel's embed_migrations!): a new migration
// folder must rebuild the crate even when no Rust file changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
