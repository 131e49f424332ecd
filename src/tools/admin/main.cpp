#include "tools/admin/cli.hpp"

int main(int argc, char** argv) { return uh::admin::RunAdmin(argc, argv); }
