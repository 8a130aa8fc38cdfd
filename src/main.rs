fn main() {
    std::process::exit(meshext_lint::cli::main());
}
