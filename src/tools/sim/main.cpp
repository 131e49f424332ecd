// updatehub-sim: many simulated UpdateHub devices in one process, for load and scale tests.

#include <iostream>

#include "tools/sim/sim_cli.hpp"

int main(int argc, char** argv) { return uh::tools::RunSimCli(argc, argv, std::cout, std::cerr); }
