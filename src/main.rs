// mimalloc: small allocations dominate `simulate` and `lint` (docs/performance.md §8).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(meshext_lint::cli::main());
}
