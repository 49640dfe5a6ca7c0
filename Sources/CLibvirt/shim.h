#ifndef DESKPOOL_CLIBVIRT_SHIM_H
#define DESKPOOL_CLIBVIRT_SHIM_H

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#endif
