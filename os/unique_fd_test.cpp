// UniqueFd: a descriptor is closed exactly once, by whoever owns it last.
#include "os/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <gtest/gtest.h>

namespace vslab::os {
namespace {

bool is_open(int fd) {
  return fcntl(fd, F_GETFD) != -1;
}

int open_null() {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  return fd;
}

TEST(UniqueFd, ClosesItsDescriptorWhenItGoes) {
  int fd = open_null();
  { UniqueFd owner(fd); }
  EXPECT_FALSE(is_open(fd));
  EXPECT_EQ(errno, EBADF);
}

TEST(UniqueFd, ClosesOnceSoTheNumberReusedMeanwhileStaysOpen) {
  int fd = open_null();
  UniqueFd owner(fd);
  owner.reset();
  // The kernel hands out the lowest free number: the one just closed.
  int reused = open_null();
  ASSERT_EQ(reused, fd);
  owner.reset();  // empty now: must not close the new file
  EXPECT_TRUE(is_open(reused));
  close(reused);
}

TEST(UniqueFd, MoveHandsOwnershipOverAndLeavesTheSourceEmpty) {
  int fd = open_null();
  UniqueFd first(fd);
  UniqueFd second(std::move(first));
  EXPECT_EQ(first.get(), -1);
  EXPECT_EQ(second.get(), fd);
  { UniqueFd third = std::move(second); }
  EXPECT_FALSE(is_open(fd));
}

TEST(UniqueFd, MoveAssignmentClosesWhatTheTargetHeld) {
  int a = open_null(), b = open_null();
  UniqueFd target(a), source(b);
  target = std::move(source);
  EXPECT_FALSE(is_open(a));
  EXPECT_TRUE(is_open(b));
  EXPECT_EQ(target.get(), b);
}

TEST(UniqueFd, ReleaseGivesTheDescriptorUpWithoutClosingIt) {
  int fd = open_null();
  int released;
  {
    UniqueFd owner(fd);
    released = owner.release();
    EXPECT_FALSE(owner.valid());
  }
  EXPECT_EQ(released, fd);
  EXPECT_TRUE(is_open(fd));
  close(fd);
}

TEST(UniqueFd, ResetClosesTheOldAndHoldsTheNew) {
  int a = open_null(), b = open_null();
  UniqueFd owner(a);
  owner.reset(b);
  EXPECT_FALSE(is_open(a));
  EXPECT_EQ(owner.get(), b);
}

TEST(MakePipe, GivesAReadAndAWriteEndThatCloseWithTheirOwners) {
  int read_end, write_end;
  {
    auto pipe = make_pipe(O_CLOEXEC);
    read_end = pipe.first.get();
    write_end = pipe.second.get();
    ASSERT_EQ(write(write_end, "x", 1), 1);
    char c = 0;
    ASSERT_EQ(read(read_end, &c, 1), 1);
    EXPECT_EQ(c, 'x');
    EXPECT_EQ(fcntl(read_end, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  }
  EXPECT_FALSE(is_open(read_end));
  EXPECT_FALSE(is_open(write_end));
}

}  // namespace
}  // namespace vslab::os
