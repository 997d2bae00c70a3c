/// A request allocates and frees dozens of small buffers (headers, the
/// page, its JSON); mimalloc serves them from per-thread pages where the
/// system allocator takes locks and consolidates.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    luutru::cli::main()
}
