fn main() {
    std::process::exit(cephalo::cli::main());
}
