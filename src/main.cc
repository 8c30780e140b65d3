#include "cli/cli.h"

int main(int argc, char** argv) { return millrace::cli::Main(argc, argv); }
