#ifndef DESKPOOL_CPAM_SHIM_H
#define DESKPOOL_CPAM_SHIM_H

#include <security/pam_appl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdlib.h>
#include <string.h>

#endif
