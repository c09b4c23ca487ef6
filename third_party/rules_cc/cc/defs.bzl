"""Offline stand-in for rules_cc.

Why: Bazel 4.2.3's @bazel_tools (tools/cpp and the launcher) loads @rules_cc//cc:defs.bzl, and its
WORKSPACE suffix would download rules_cc. Debian's bazel-rules-cc 0.0.4 does not load on 4.2.3
(it needs use_cpp_toolchain). tinytorch builds no C++, so forwarding each name to the native rule
is all that is needed.
"""

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_import(**kwargs):
    native.cc_import(**kwargs)

def cc_proto_library(**kwargs):
    native.cc_proto_library(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)

def fdo_profile(**kwargs):
    native.fdo_profile(**kwargs)

def fdo_prefetch_hints(**kwargs):
    native.fdo_prefetch_hints(**kwargs)

def objc_library(**kwargs):
    native.objc_library(**kwargs)

def objc_import(**kwargs):
    native.objc_import(**kwargs)
