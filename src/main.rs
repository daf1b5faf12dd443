use clap::Parser;

fn main() {
    let cli = cephalo::cli::Cli::parse();
    std::process::exit(cephalo::cli::run(cli));
}
