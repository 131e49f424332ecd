// toml++'s parser, compiled once into the project instead of loaded from libtomlplusplus.so:
// the binaries that read TOML (the agent's and the server's config, package specs) take only the
// code they use, and the device agent maps one shared library less. Every other file includes
// <toml++/toml.h> with TOML_HEADER_ONLY=0 (set by the uh_toml target) and gets declarations only.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
