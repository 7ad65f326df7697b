// The system's libyaml (Debian: libyaml-dev to build, libyaml-0-2 to run).
#include <yaml.h>
