// What of the rules the ingress chain keeps from the director namespace's kernel (io/
// ingress_drop.h): each service's VIP:port, every port of a port-0 service's VIP, what the
// mark rules of a fwmark service match, and the FULLNAT local addresses, which are vsd's
// whole even when the host holds them.
#pragma once

#include "config/rules.h"
#include "io/ingress_drop.h"

namespace vsd {

IngressServices ingress_services_of(const RuleSet& rules);

}  // namespace vsd
