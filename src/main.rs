fn main() -> std::process::ExitCode {
    luutru::cli::main()
}
