// mimalloc: small allocations dominate `simulate` and `lint` (docs/performance.md §8).
#[global_allocator]
static ALLOC: meshext_lint::alloc::MiAlloc = meshext_lint::alloc::MiAlloc;

fn main() {
    std::process::exit(meshext_lint::cli::main());
}
