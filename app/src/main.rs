//! Entry point of the browser bundle built by trunk.
fn main() {
    console_error_panic_hook::set_once();
    // index.html shows a static "Loading…" shell so the first paint does not wait for the wasm;
    // the app replaces it with the same look.
    if let Some(shell) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        shell.remove();
    }
    leptos::mount::mount_to_body(app::ui::App);
}
