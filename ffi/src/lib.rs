//! The C ABI of sansraft (work in progress).
