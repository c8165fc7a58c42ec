// One libnftables context kept for its owner's life. Every command goes out through the same
// netlink socket, so the tables it creates with `flags owner` (NFT_TABLE_F_OWNER, Linux 5.12)
// belong to this socket: nobody else may change or delete them, and the kernel deletes them
// when the socket closes, however the process ends (kill -9 included).
#pragma once

#include <string>

struct nft_ctx;

namespace vsd {

class NftSession {
 public:
  NftSession();  // throws when libnftables has no context to give
  ~NftSession();
  NftSession(const NftSession&) = delete;
  NftSession& operator=(const NftSession&) = delete;

  struct Outcome {
    bool ok = false;
    std::string output;  // what nft printed: a listing, or its error message when !ok
  };
  // Runs an nft script as one transaction (all of it or none). Not thread-safe: the caller
  // serialises.
  Outcome run(const std::string& script);
  // The same, listing without set elements (nft -t): a table's shape, not its contents.
  Outcome list(const std::string& command);

 private:
  nft_ctx* ctx_;
};

}  // namespace vsd
