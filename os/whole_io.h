// Whole-buffer reads and writes on a descriptor: a short write is continued and EINTR retried,
// so a caller sees only "all of it" or a real error (errno set).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace vslab::os {

// write(2) until every byte is written; false with errno set on an error.
bool write_all(int fd, std::string_view bytes);
// send(2) with flags until every byte is sent; MSG_NOSIGNAL by default, so a peer that went
// away is an EPIPE here, not a SIGPIPE that kills the process.
bool send_all(int fd, std::string_view bytes, int flags = MSG_NOSIGNAL);
// One read(2) of at most size bytes, retried after EINTR: >0 bytes read, 0 end of file,
// -1 an error (errno set, EAGAIN included).
ssize_t read_some(int fd, void* buffer, std::size_t size);
// Reads exactly size bytes; false on an error (errno set) or on end of file before that
// (errno 0).
bool read_exact(int fd, void* buffer, std::size_t size);
// Appends everything up to end of file to out; false on an error (errno set), with what was
// read before it appended.
bool read_to_end(int fd, std::string& out);

}  // namespace vslab::os
