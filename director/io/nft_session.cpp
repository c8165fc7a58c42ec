#include "io/nft_session.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <nftables/libnftables.h>

#include <cstdlib>
#include <set>
#include <stdexcept>

namespace vsd {
namespace {

std::set<int> open_fds() {
  std::set<int> fds;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(dir))
      if (entry->d_name[0] != '.') fds.insert(std::atoi(entry->d_name));
    // The listing's own descriptor: free again once closed, so the socket may take it.
    fds.erase(dirfd(dir));
    closedir(dir);
  }
  return fds;
}

bool is_netlink(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_NETLINK;
}

}  // namespace

NftSession::NftSession() {
  const std::set<int> before = open_fds();
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx_) throw std::runtime_error("libnftables: no context (out of memory?)");
  // libmnl opens the socket without close-on-exec: a child that inherited it would keep the
  // owned tables alive after this process is gone.
  for (int fd : open_fds())
    if (!before.contains(fd) && is_netlink(fd)) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

NftSession::~NftSession() {
  nft_ctx_free(ctx_);
}

NftSession::Outcome NftSession::run(const std::string& script) {
  Outcome outcome;
  outcome.ok = nft_run_cmd_from_buffer(ctx_, script.c_str()) == 0;
  // Both buffers are read, so that neither carries this command's text into the next one.
  std::string output = nft_ctx_get_output_buffer(ctx_);
  std::string error = nft_ctx_get_error_buffer(ctx_);
  outcome.output = outcome.ok ? output : error;
  return outcome;
}

NftSession::Outcome NftSession::list(const std::string& command) {
  const unsigned flags = nft_ctx_output_get_flags(ctx_);
  nft_ctx_output_set_flags(ctx_, flags | NFT_CTX_OUTPUT_TERSE);
  Outcome outcome = run(command);
  nft_ctx_output_set_flags(ctx_, flags);
  return outcome;
}

}  // namespace vsd
