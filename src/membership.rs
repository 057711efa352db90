//! Cluster configurations: voting members, learners and quorum arithmetic.

use alloc::vec::Vec;
use core::fmt;

use crate::types::NodeId;

/// A server that replicates the log but does not vote and is never counted in a quorum.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Learner {
    /// The learner's id.
    pub id: NodeId,
    /// Whether the learner is waiting to become a member. The leader promotes a pending learner
    /// once it has caught up, and never promotes a learner that is not pending.
    pub pending: bool,
}

/// A cluster configuration: the members, which vote and can lead, and the learners.
///
/// Both lists are kept sorted by id and never share an id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Membership {
    members: Vec<NodeId>,
    learners: Vec<Learner>,
}

/// The reason a configuration is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipError {
    /// The id `0` is reserved and cannot name a server.
    ZeroId,
    /// The same id is listed twice, or as both a member and a learner.
    DuplicateId(NodeId),
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipError::ZeroId => write!(f, "node id 0 is reserved; use ids from 1 up"),
            MembershipError::DuplicateId(id) => {
                write!(f, "node id {id} is listed more than once; list each server once")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MembershipError {}

#[cfg(feature = "std")]
impl std::error::Error for ChangeError {}

impl Membership {
    /// Builds a configuration from members and learners, rejecting id `0` and duplicates.
    pub fn new(
        members: impl IntoIterator<Item = NodeId>,
        learners: impl IntoIterator<Item = Learner>,
    ) -> Result<Self, MembershipError> {
        let mut members: Vec<NodeId> = members.into_iter().collect();
        let mut learners: Vec<Learner> = learners.into_iter().collect();
        members.sort_unstable();
        learners.sort_unstable_by_key(|learner| learner.id);

        let ids = members.iter().copied().chain(learners.iter().map(|l| l.id));
        if ids.clone().any(|id| id == 0) {
            return Err(MembershipError::ZeroId);
        }
        let mut all: Vec<NodeId> = ids.collect();
        all.sort_unstable();
        if let Some(pair) = all.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(MembershipError::DuplicateId(pair[0]));
        }
        Ok(Membership { members, learners })
    }

    /// Builds a configuration of members only.
    pub fn with_members(
        members: impl IntoIterator<Item = NodeId>,
    ) -> Result<Self, MembershipError> {
        Self::new(members, [])
    }

    /// The voting members, sorted by id.
    pub fn members(&self) -> &[NodeId] {
        &self.members
    }

    /// The learners, sorted by id.
    pub fn learners(&self) -> &[Learner] {
        &self.learners
    }

    /// Returns the number of servers in the configuration.
    pub fn len(&self) -> usize {
        self.members.len() + self.learners.len()
    }

    /// Returns true when the configuration lists no server.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns true when `id` is a voting member.
    pub fn is_member(&self, id: NodeId) -> bool {
        self.members.binary_search(&id).is_ok()
    }

    /// Returns the learner entry for `id`, if `id` is a learner.
    pub fn learner(&self, id: NodeId) -> Option<Learner> {
        let at = self.learners.binary_search_by_key(&id, |l| l.id).ok()?;
        Some(self.learners[at])
    }

    /// Returns true when `id` is listed, as a member or as a learner.
    pub fn contains(&self, id: NodeId) -> bool {
        self.is_member(id) || self.learner(id).is_some()
    }

    /// Iterates over every listed id: members first, then learners.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.members.iter().copied().chain(self.learners.iter().map(|l| l.id))
    }

    /// Returns how many members make a majority. Zero members need zero votes.
    pub fn quorum(&self) -> usize {
        if self.members.is_empty() {
            0
        } else {
            self.members.len() / 2 + 1
        }
    }

    /// Returns true when the members in `granted` form a majority. Ids that are not members
    /// are not counted.
    pub fn has_quorum(&self, granted: impl IntoIterator<Item = NodeId>) -> bool {
        let votes = granted.into_iter().filter(|id| self.is_member(*id)).count();
        !self.members.is_empty() && votes >= self.quorum()
    }

    /// Returns the largest index that a majority of members has reached, given each
    /// member's index. Members that `index_of` returns `None` for count as `0`.
    pub fn quorum_index(&self, mut index_of: impl FnMut(NodeId) -> Option<u64>) -> u64 {
        if self.members.is_empty() {
            return 0;
        }
        let mut indexes: smallvec::SmallVec<[u64; 8]> =
            self.members.iter().map(|id| index_of(*id).unwrap_or(0)).collect();
        // Insertion sort, descending: clusters have a handful of members, and this runs on
        // every acknowledgement that may advance the commit index.
        for at in 1..indexes.len() {
            let mut position = at;
            while position > 0 && indexes[position - 1] < indexes[position] {
                indexes.swap(position - 1, position);
                position -= 1;
            }
        }
        indexes[self.quorum() - 1]
    }
}

/// A single-server change to the configuration, requested on the leader.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MembershipChange {
    /// Add a server as a learner. A `pending` learner is promoted by the leader once it
    /// has caught up.
    AddLearner {
        /// The server to add.
        id: NodeId,
        /// Whether it should become a member once caught up.
        pending: bool,
    },
    /// Set or clear a learner's pending flag.
    SetPending {
        /// The learner.
        id: NodeId,
        /// The new flag.
        pending: bool,
    },
    /// Make a learner a member now, whether or not it has caught up.
    Promote {
        /// The learner.
        id: NodeId,
    },
    /// Make a member a learner (not pending).
    Demote {
        /// The member.
        id: NodeId,
    },
    /// Remove a server, member or learner.
    Remove {
        /// The server.
        id: NodeId,
    },
}

/// The reason a [`MembershipChange`] cannot apply to a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeError {
    /// The server is not in the configuration.
    UnknownNode(NodeId),
    /// The server is already in the configuration.
    AlreadyListed(NodeId),
    /// The change needs a learner, and the server is a member.
    NotLearner(NodeId),
    /// The change needs a member, and the server is a learner.
    NotMember(NodeId),
    /// The change would leave the configuration without members.
    LastMember(NodeId),
    /// The resulting configuration is invalid.
    Invalid(MembershipError),
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::UnknownNode(id) => write!(f, "node {id} is not in the configuration"),
            ChangeError::AlreadyListed(id) => {
                write!(f, "node {id} is already in the configuration; remove it first")
            }
            ChangeError::NotLearner(id) => write!(f, "node {id} is a member, not a learner"),
            ChangeError::NotMember(id) => write!(f, "node {id} is a learner, not a member"),
            ChangeError::LastMember(id) => write!(
                f,
                "node {id} is the last member; add and promote another server before removing it"
            ),
            ChangeError::Invalid(error) => write!(f, "{error}"),
        }
    }
}

impl Membership {
    /// Returns the configuration that `change` produces from this one.
    pub fn apply(&self, change: MembershipChange) -> Result<Membership, ChangeError> {
        let mut members = self.members.clone();
        let mut learners = self.learners.clone();
        match change {
            MembershipChange::AddLearner { id, pending } => {
                if self.contains(id) {
                    return Err(ChangeError::AlreadyListed(id));
                }
                learners.push(Learner { id, pending });
            }
            MembershipChange::SetPending { id, pending } => {
                let learner = self.expect_learner(id)?;
                learners.retain(|l| l.id != id);
                learners.push(Learner { pending, ..learner });
            }
            MembershipChange::Promote { id } => {
                self.expect_learner(id)?;
                learners.retain(|l| l.id != id);
                members.push(id);
            }
            MembershipChange::Demote { id } => {
                self.expect_sole_member_not(id)?;
                members.retain(|m| *m != id);
                learners.push(Learner { id, pending: false });
            }
            MembershipChange::Remove { id } => {
                if self.is_member(id) {
                    self.expect_sole_member_not(id)?;
                } else if self.learner(id).is_none() {
                    return Err(ChangeError::UnknownNode(id));
                }
                members.retain(|m| *m != id);
                learners.retain(|l| l.id != id);
            }
        }
        Membership::new(members, learners).map_err(ChangeError::Invalid)
    }

    fn expect_learner(&self, id: NodeId) -> Result<Learner, ChangeError> {
        match self.learner(id) {
            Some(learner) => Ok(learner),
            None if self.is_member(id) => Err(ChangeError::NotLearner(id)),
            None => Err(ChangeError::UnknownNode(id)),
        }
    }

    fn expect_sole_member_not(&self, id: NodeId) -> Result<(), ChangeError> {
        if !self.is_member(id) {
            return Err(if self.contains(id) {
                ChangeError::NotMember(id)
            } else {
                ChangeError::UnknownNode(id)
            });
        }
        if self.members.len() == 1 {
            return Err(ChangeError::LastMember(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_rejects_duplicate_ids() {
        let error = Membership::new([1, 2], [Learner { id: 2, pending: false }]);
        assert_eq!(error, Err(MembershipError::DuplicateId(2)));
        assert_eq!(Membership::with_members([1, 1]), Err(MembershipError::DuplicateId(1)));
    }

    #[test]
    fn membership_rejects_zero_id() {
        assert_eq!(Membership::with_members([0, 1]), Err(MembershipError::ZeroId));
    }

    #[test]
    fn quorum_index_takes_majority_value() {
        let membership = Membership::with_members([1, 2, 3]).unwrap();
        let index = membership.quorum_index(|id| Some(id * 10));
        assert_eq!(index, 20);
        let five = Membership::with_members([1, 2, 3, 4, 5]).unwrap();
        assert_eq!(five.quorum_index(|id| if id < 3 { Some(9) } else { None }), 0);
        assert_eq!(five.quorum_index(|id| if id <= 3 { Some(9) } else { None }), 9);
    }

    #[test]
    fn changes_produce_expected_configurations() {
        let start = Membership::with_members([1, 2]).unwrap();
        let added = start.apply(MembershipChange::AddLearner { id: 3, pending: true }).unwrap();
        assert_eq!(added.learner(3), Some(Learner { id: 3, pending: true }));
        let promoted = added.apply(MembershipChange::Promote { id: 3 }).unwrap();
        assert_eq!(promoted.members(), &[1, 2, 3]);
        let demoted = promoted.apply(MembershipChange::Demote { id: 1 }).unwrap();
        assert_eq!(demoted.members(), &[2, 3]);
        assert_eq!(demoted.learner(1), Some(Learner { id: 1, pending: false }));
        let removed = demoted.apply(MembershipChange::Remove { id: 1 }).unwrap();
        assert!(!removed.contains(1));
    }

    #[test]
    fn invalid_changes_are_rejected() {
        let one = Membership::with_members([1]).unwrap();
        let add = MembershipChange::AddLearner { id: 1, pending: false };
        assert_eq!(one.apply(add), Err(ChangeError::AlreadyListed(1)));
        assert_eq!(one.apply(MembershipChange::Remove { id: 1 }), Err(ChangeError::LastMember(1)));
        assert_eq!(one.apply(MembershipChange::Promote { id: 1 }), Err(ChangeError::NotLearner(1)));
        assert_eq!(one.apply(MembershipChange::Remove { id: 9 }), Err(ChangeError::UnknownNode(9)));
        let add_zero = MembershipChange::AddLearner { id: 0, pending: false };
        assert_eq!(one.apply(add_zero), Err(ChangeError::Invalid(MembershipError::ZeroId)));
    }

    #[test]
    fn learners_never_count_toward_quorum() {
        let learner = Learner { id: 4, pending: true };
        let membership = Membership::new([1, 2, 3], [learner]).unwrap();
        assert!(!membership.has_quorum([1, 4]));
        assert!(membership.has_quorum([1, 3]));
        assert_eq!(membership.learner(4), Some(learner));
        assert!(!membership.is_member(4));
    }
}
