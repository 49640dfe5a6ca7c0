#ifndef DESKPOOL_CSPICEPROTOCOL_SHIM_H
#define DESKPOOL_CSPICEPROTOCOL_SHIM_H

/* Definitions only: the SPICE link header and message, channel types, the magic. */
#include <spice/protocol.h>
#include <spice/enums.h>

/* SPICE_MAGIC is a macro over a macro Swift cannot import; spell it once here. */
static const uint32_t deskpool_spice_magic = SPICE_MAGIC;

#endif
