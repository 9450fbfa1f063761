//! Kafka's error codes: every code the protocol guide lists, plus
//! [`ErrorCode::Unknown`] for codes newer than this table, with the broker's
//! own retriable flag and a producer-oriented classification.
//!
//! # References
//! - Kafka protocol guide, "Error Codes": <https://kafka.apache.org/protocol#protocol_error_codes>
//! - `org.apache.kafka.common.protocol.Errors` in the Kafka repository

use std::fmt;

/// How a producer should treat an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// No error.
    None,
    /// Transient: retry the same request (after a metadata refresh where the
    /// error says the leader moved).
    Retriable,
    /// The records of this partition fail; the producer carries on.
    Permanent,
    /// The producer instance cannot go on (fenced, unauthorised for the
    /// cluster, protocol mismatch).
    Fatal,
}

/// A Kafka error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: no error.
    None,
    /// -1: The server experienced an unexpected error when processing the request.
    UnknownServerError,
    /// 1: The requested offset is not within the range of offsets maintained by the server.
    OffsetOutOfRange,
    /// 2: This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.
    CorruptMessage,
    /// 3: This server does not host this topic-partition.
    UnknownTopicOrPartition,
    /// 4: The requested fetch size is invalid.
    InvalidFetchSize,
    /// 5: There is no leader for this topic-partition as we are in the middle of a leadership election.
    LeaderNotAvailable,
    /// 6: For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.
    NotLeaderOrFollower,
    /// 7: The request timed out.
    RequestTimedOut,
    /// 8: The broker is not available.
    BrokerNotAvailable,
    /// 9: The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition.
    ReplicaNotAvailable,
    /// 10: The request included a message larger than the max message size the server will accept.
    MessageTooLarge,
    /// 11: The controller moved to another broker.
    StaleControllerEpoch,
    /// 12: The metadata field of the offset request was too large.
    OffsetMetadataTooLarge,
    /// 13: The server disconnected before a response was received.
    NetworkException,
    /// 14: The coordinator is loading and hence can't process requests.
    CoordinatorLoadInProgress,
    /// 15: The coordinator is not available.
    CoordinatorNotAvailable,
    /// 16: This is not the correct coordinator.
    NotCoordinator,
    /// 17: The request attempted to perform an operation on an invalid topic.
    InvalidTopicException,
    /// 18: The request included message batch larger than the configured segment size on the server.
    RecordListTooLarge,
    /// 19: Messages are rejected since there are fewer in-sync replicas than required.
    NotEnoughReplicas,
    /// 20: Messages are written to the log, but to fewer in-sync replicas than required.
    NotEnoughReplicasAfterAppend,
    /// 21: Produce request specified an invalid value for required acks.
    InvalidRequiredAcks,
    /// 22: Specified group generation id is not valid.
    IllegalGeneration,
    /// 23: The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.
    InconsistentGroupProtocol,
    /// 24: The configured groupId is invalid.
    InvalidGroupId,
    /// 25: The coordinator is not aware of this member.
    UnknownMemberId,
    /// 26: The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).
    InvalidSessionTimeout,
    /// 27: The group is rebalancing, so a rejoin is needed.
    RebalanceInProgress,
    /// 28: The committing offset data size is not valid.
    InvalidCommitOffsetSize,
    /// 29: Topic authorization failed.
    TopicAuthorizationFailed,
    /// 30: Group authorization failed.
    GroupAuthorizationFailed,
    /// 31: Cluster authorization failed.
    ClusterAuthorizationFailed,
    /// 32: The timestamp of the message is out of acceptable range.
    InvalidTimestamp,
    /// 33: The broker does not support the requested SASL mechanism.
    UnsupportedSaslMechanism,
    /// 34: Request is not valid given the current SASL state.
    IllegalSaslState,
    /// 35: The version of API is not supported.
    UnsupportedVersion,
    /// 36: Topic with this name already exists.
    TopicAlreadyExists,
    /// 37: Number of partitions is below 1.
    InvalidPartitions,
    /// 38: Replication factor is below 1 or larger than the number of available brokers.
    InvalidReplicationFactor,
    /// 39: Replica assignment is invalid.
    InvalidReplicaAssignment,
    /// 40: Configuration is invalid.
    InvalidConfig,
    /// 41: This is not the correct controller for this cluster.
    NotController,
    /// 42: This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.
    InvalidRequest,
    /// 43: The message format version on the broker does not support the request.
    UnsupportedForMessageFormat,
    /// 44: Request parameters do not satisfy the configured policy.
    PolicyViolation,
    /// 45: The broker received an out of order sequence number.
    OutOfOrderSequenceNumber,
    /// 46: The broker received a duplicate sequence number.
    DuplicateSequenceNumber,
    /// 47: Producer attempted to produce with an old epoch.
    InvalidProducerEpoch,
    /// 48: The producer attempted a transactional operation in an invalid state.
    InvalidTxnState,
    /// 49: The producer attempted to use a producer id which is not currently assigned to its transactional id.
    InvalidProducerIdMapping,
    /// 50: The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms).
    InvalidTransactionTimeout,
    /// 51: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing.
    ConcurrentTransactions,
    /// 52: Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer.
    TransactionCoordinatorFenced,
    /// 53: Transactional Id authorization failed.
    TransactionalIdAuthorizationFailed,
    /// 54: Security features are disabled.
    SecurityDisabled,
    /// 55: The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.
    OperationNotAttempted,
    /// 56: Disk error when trying to access log file on the disk.
    KafkaStorageError,
    /// 57: The user-specified log directory is not found in the broker config.
    LogDirNotFound,
    /// 58: SASL Authentication failed.
    SaslAuthenticationFailed,
    /// 59: This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.
    UnknownProducerId,
    /// 60: A partition reassignment is in progress.
    ReassignmentInProgress,
    /// 61: Delegation Token feature is not enabled.
    DelegationTokenAuthDisabled,
    /// 62: Delegation Token is not found on server.
    DelegationTokenNotFound,
    /// 63: Specified Principal is not valid Owner/Renewer.
    DelegationTokenOwnerMismatch,
    /// 64: Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels.
    DelegationTokenRequestNotAllowed,
    /// 65: Delegation Token authorization failed.
    DelegationTokenAuthorizationFailed,
    /// 66: Delegation Token is expired.
    DelegationTokenExpired,
    /// 67: Supplied principalType is not supported.
    InvalidPrincipalType,
    /// 68: The group is not empty.
    NonEmptyGroup,
    /// 69: The group id does not exist.
    GroupIdNotFound,
    /// 70: The fetch session ID was not found.
    FetchSessionIdNotFound,
    /// 71: The fetch session epoch is invalid.
    InvalidFetchSessionEpoch,
    /// 72: There is no listener on the leader broker that matches the listener on which metadata request was processed.
    ListenerNotFound,
    /// 73: Topic deletion is disabled.
    TopicDeletionDisabled,
    /// 74: The leader epoch in the request is older than the epoch on the broker.
    FencedLeaderEpoch,
    /// 75: The leader epoch in the request is newer than the epoch on the broker.
    UnknownLeaderEpoch,
    /// 76: The requesting client does not support the compression type of given partition.
    UnsupportedCompressionType,
    /// 77: Broker epoch has changed.
    StaleBrokerEpoch,
    /// 78: The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.
    OffsetNotAvailable,
    /// 79: The group member needs to have a valid member id before actually entering a consumer group.
    MemberIdRequired,
    /// 80: The preferred leader was not available.
    PreferredLeaderNotAvailable,
    /// 81: The consumer group has reached its max size.
    GroupMaxSizeReached,
    /// 82: The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.
    FencedInstanceId,
    /// 83: Eligible topic partition leaders are not available.
    EligibleLeadersNotAvailable,
    /// 84: Leader election not needed for topic partition.
    ElectionNotNeeded,
    /// 85: No partition reassignment is in progress.
    NoReassignmentInProgress,
    /// 86: Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.
    GroupSubscribedToTopic,
    /// 87: This record has failed the validation on broker and hence will be rejected.
    InvalidRecord,
    /// 88: There are unstable offsets that need to be cleared.
    UnstableOffsetCommit,
    /// 89: The throttling quota has been exceeded.
    ThrottlingQuotaExceeded,
    /// 90: There is a newer producer with the same transactionalId which fences the current one.
    ProducerFenced,
    /// 91: A request illegally referred to a resource that does not exist.
    ResourceNotFound,
    /// 92: A request illegally referred to the same resource twice.
    DuplicateResource,
    /// 93: Requested credential would not meet criteria for acceptability.
    UnacceptableCredential,
    /// 94: Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters
    InconsistentVoterSet,
    /// 95: The given update version was invalid.
    InvalidUpdateVersion,
    /// 96: Unable to update finalized features due to an unexpected server error.
    FeatureUpdateFailed,
    /// 97: Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup.
    PrincipalDeserializationFailure,
    /// 98: Requested snapshot was not found
    SnapshotNotFound,
    /// 99: Requested position is not greater than or equal to zero, and less than the size of the snapshot.
    PositionOutOfRange,
    /// 100: This server does not host this topic ID.
    UnknownTopicId,
    /// 101: This broker ID is already in use.
    DuplicateBrokerRegistration,
    /// 102: The given broker ID was not registered.
    BrokerIdNotRegistered,
    /// 103: The log's topic ID did not match the topic ID in the request
    InconsistentTopicId,
    /// 104: The clusterId in the request does not match that found on the server
    InconsistentClusterId,
    /// 105: The transactionalId could not be found
    TransactionalIdNotFound,
    /// 106: The fetch session encountered inconsistent topic ID usage
    FetchSessionTopicIdError,
    /// 107: The new ISR contains at least one ineligible replica.
    IneligibleReplica,
    /// 108: The AlterPartition request successfully updated the partition state but the leader has changed.
    NewLeaderElected,
    /// 109: The requested offset is moved to tiered storage.
    OffsetMovedToTieredStorage,
    /// 110: The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.
    FencedMemberEpoch,
    /// 111: The instance ID is still used by another member in the consumer group. That member must leave first.
    UnreleasedInstanceId,
    /// 112: The assignor or its version range is not supported by the consumer group.
    UnsupportedAssignor,
    /// 113: The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.
    StaleMemberEpoch,
    /// 114: The request was sent to an endpoint of the wrong type.
    MismatchedEndpointType,
    /// 115: This endpoint type is not supported yet.
    UnsupportedEndpointType,
    /// 116: This controller ID is not known.
    UnknownControllerId,
    /// 117: Client sent a push telemetry request with an invalid or outdated subscription ID.
    UnknownSubscriptionId,
    /// 118: Client sent a push telemetry request larger than the maximum size the broker will accept.
    TelemetryTooLarge,
    /// 119: The controller has considered the broker registration to be invalid.
    InvalidRegistration,
    /// 120: The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID.
    TransactionAbortable,
    /// 121: The record state is invalid. The acknowledgement of delivery could not be completed.
    InvalidRecordState,
    /// 122: The share session was not found.
    ShareSessionNotFound,
    /// 123: The share session epoch is invalid.
    InvalidShareSessionEpoch,
    /// 124: The share coordinator rejected the request because the share-group state epoch did not match.
    FencedStateEpoch,
    /// 125: The voter key doesn't match the receiving replica's key.
    InvalidVoterKey,
    /// 126: The voter is already part of the set of voters.
    DuplicateVoter,
    /// 127: The voter is not part of the set of voters.
    VoterNotFound,
    /// 128: The regular expression is not valid.
    InvalidRegularExpression,
    /// 129: Client metadata is stale, client should rebootstrap to obtain new metadata.
    RebootstrapRequired,
    /// 130: The supplied topology is invalid.
    StreamsInvalidTopology,
    /// 131: The supplied topology epoch is invalid.
    StreamsInvalidTopologyEpoch,
    /// 132: The supplied topology epoch is outdated.
    StreamsTopologyFenced,
    /// 133: The limit of share sessions has been reached.
    ShareSessionLimitReached,
    /// A code this table does not know.
    Unknown(i16),
}

impl ErrorCode {
    /// The enum for a wire code.
    pub const fn from_code(code: i16) -> Self {
        match code {
            0 => Self::None,
            -1 => Self::UnknownServerError,
            1 => Self::OffsetOutOfRange,
            2 => Self::CorruptMessage,
            3 => Self::UnknownTopicOrPartition,
            4 => Self::InvalidFetchSize,
            5 => Self::LeaderNotAvailable,
            6 => Self::NotLeaderOrFollower,
            7 => Self::RequestTimedOut,
            8 => Self::BrokerNotAvailable,
            9 => Self::ReplicaNotAvailable,
            10 => Self::MessageTooLarge,
            11 => Self::StaleControllerEpoch,
            12 => Self::OffsetMetadataTooLarge,
            13 => Self::NetworkException,
            14 => Self::CoordinatorLoadInProgress,
            15 => Self::CoordinatorNotAvailable,
            16 => Self::NotCoordinator,
            17 => Self::InvalidTopicException,
            18 => Self::RecordListTooLarge,
            19 => Self::NotEnoughReplicas,
            20 => Self::NotEnoughReplicasAfterAppend,
            21 => Self::InvalidRequiredAcks,
            22 => Self::IllegalGeneration,
            23 => Self::InconsistentGroupProtocol,
            24 => Self::InvalidGroupId,
            25 => Self::UnknownMemberId,
            26 => Self::InvalidSessionTimeout,
            27 => Self::RebalanceInProgress,
            28 => Self::InvalidCommitOffsetSize,
            29 => Self::TopicAuthorizationFailed,
            30 => Self::GroupAuthorizationFailed,
            31 => Self::ClusterAuthorizationFailed,
            32 => Self::InvalidTimestamp,
            33 => Self::UnsupportedSaslMechanism,
            34 => Self::IllegalSaslState,
            35 => Self::UnsupportedVersion,
            36 => Self::TopicAlreadyExists,
            37 => Self::InvalidPartitions,
            38 => Self::InvalidReplicationFactor,
            39 => Self::InvalidReplicaAssignment,
            40 => Self::InvalidConfig,
            41 => Self::NotController,
            42 => Self::InvalidRequest,
            43 => Self::UnsupportedForMessageFormat,
            44 => Self::PolicyViolation,
            45 => Self::OutOfOrderSequenceNumber,
            46 => Self::DuplicateSequenceNumber,
            47 => Self::InvalidProducerEpoch,
            48 => Self::InvalidTxnState,
            49 => Self::InvalidProducerIdMapping,
            50 => Self::InvalidTransactionTimeout,
            51 => Self::ConcurrentTransactions,
            52 => Self::TransactionCoordinatorFenced,
            53 => Self::TransactionalIdAuthorizationFailed,
            54 => Self::SecurityDisabled,
            55 => Self::OperationNotAttempted,
            56 => Self::KafkaStorageError,
            57 => Self::LogDirNotFound,
            58 => Self::SaslAuthenticationFailed,
            59 => Self::UnknownProducerId,
            60 => Self::ReassignmentInProgress,
            61 => Self::DelegationTokenAuthDisabled,
            62 => Self::DelegationTokenNotFound,
            63 => Self::DelegationTokenOwnerMismatch,
            64 => Self::DelegationTokenRequestNotAllowed,
            65 => Self::DelegationTokenAuthorizationFailed,
            66 => Self::DelegationTokenExpired,
            67 => Self::InvalidPrincipalType,
            68 => Self::NonEmptyGroup,
            69 => Self::GroupIdNotFound,
            70 => Self::FetchSessionIdNotFound,
            71 => Self::InvalidFetchSessionEpoch,
            72 => Self::ListenerNotFound,
            73 => Self::TopicDeletionDisabled,
            74 => Self::FencedLeaderEpoch,
            75 => Self::UnknownLeaderEpoch,
            76 => Self::UnsupportedCompressionType,
            77 => Self::StaleBrokerEpoch,
            78 => Self::OffsetNotAvailable,
            79 => Self::MemberIdRequired,
            80 => Self::PreferredLeaderNotAvailable,
            81 => Self::GroupMaxSizeReached,
            82 => Self::FencedInstanceId,
            83 => Self::EligibleLeadersNotAvailable,
            84 => Self::ElectionNotNeeded,
            85 => Self::NoReassignmentInProgress,
            86 => Self::GroupSubscribedToTopic,
            87 => Self::InvalidRecord,
            88 => Self::UnstableOffsetCommit,
            89 => Self::ThrottlingQuotaExceeded,
            90 => Self::ProducerFenced,
            91 => Self::ResourceNotFound,
            92 => Self::DuplicateResource,
            93 => Self::UnacceptableCredential,
            94 => Self::InconsistentVoterSet,
            95 => Self::InvalidUpdateVersion,
            96 => Self::FeatureUpdateFailed,
            97 => Self::PrincipalDeserializationFailure,
            98 => Self::SnapshotNotFound,
            99 => Self::PositionOutOfRange,
            100 => Self::UnknownTopicId,
            101 => Self::DuplicateBrokerRegistration,
            102 => Self::BrokerIdNotRegistered,
            103 => Self::InconsistentTopicId,
            104 => Self::InconsistentClusterId,
            105 => Self::TransactionalIdNotFound,
            106 => Self::FetchSessionTopicIdError,
            107 => Self::IneligibleReplica,
            108 => Self::NewLeaderElected,
            109 => Self::OffsetMovedToTieredStorage,
            110 => Self::FencedMemberEpoch,
            111 => Self::UnreleasedInstanceId,
            112 => Self::UnsupportedAssignor,
            113 => Self::StaleMemberEpoch,
            114 => Self::MismatchedEndpointType,
            115 => Self::UnsupportedEndpointType,
            116 => Self::UnknownControllerId,
            117 => Self::UnknownSubscriptionId,
            118 => Self::TelemetryTooLarge,
            119 => Self::InvalidRegistration,
            120 => Self::TransactionAbortable,
            121 => Self::InvalidRecordState,
            122 => Self::ShareSessionNotFound,
            123 => Self::InvalidShareSessionEpoch,
            124 => Self::FencedStateEpoch,
            125 => Self::InvalidVoterKey,
            126 => Self::DuplicateVoter,
            127 => Self::VoterNotFound,
            128 => Self::InvalidRegularExpression,
            129 => Self::RebootstrapRequired,
            130 => Self::StreamsInvalidTopology,
            131 => Self::StreamsInvalidTopologyEpoch,
            132 => Self::StreamsTopologyFenced,
            133 => Self::ShareSessionLimitReached,
            other => Self::Unknown(other),
        }
    }

    /// The wire code.
    pub const fn code(self) -> i16 {
        match self {
            Self::None => 0,
            Self::UnknownServerError => -1,
            Self::OffsetOutOfRange => 1,
            Self::CorruptMessage => 2,
            Self::UnknownTopicOrPartition => 3,
            Self::InvalidFetchSize => 4,
            Self::LeaderNotAvailable => 5,
            Self::NotLeaderOrFollower => 6,
            Self::RequestTimedOut => 7,
            Self::BrokerNotAvailable => 8,
            Self::ReplicaNotAvailable => 9,
            Self::MessageTooLarge => 10,
            Self::StaleControllerEpoch => 11,
            Self::OffsetMetadataTooLarge => 12,
            Self::NetworkException => 13,
            Self::CoordinatorLoadInProgress => 14,
            Self::CoordinatorNotAvailable => 15,
            Self::NotCoordinator => 16,
            Self::InvalidTopicException => 17,
            Self::RecordListTooLarge => 18,
            Self::NotEnoughReplicas => 19,
            Self::NotEnoughReplicasAfterAppend => 20,
            Self::InvalidRequiredAcks => 21,
            Self::IllegalGeneration => 22,
            Self::InconsistentGroupProtocol => 23,
            Self::InvalidGroupId => 24,
            Self::UnknownMemberId => 25,
            Self::InvalidSessionTimeout => 26,
            Self::RebalanceInProgress => 27,
            Self::InvalidCommitOffsetSize => 28,
            Self::TopicAuthorizationFailed => 29,
            Self::GroupAuthorizationFailed => 30,
            Self::ClusterAuthorizationFailed => 31,
            Self::InvalidTimestamp => 32,
            Self::UnsupportedSaslMechanism => 33,
            Self::IllegalSaslState => 34,
            Self::UnsupportedVersion => 35,
            Self::TopicAlreadyExists => 36,
            Self::InvalidPartitions => 37,
            Self::InvalidReplicationFactor => 38,
            Self::InvalidReplicaAssignment => 39,
            Self::InvalidConfig => 40,
            Self::NotController => 41,
            Self::InvalidRequest => 42,
            Self::UnsupportedForMessageFormat => 43,
            Self::PolicyViolation => 44,
            Self::OutOfOrderSequenceNumber => 45,
            Self::DuplicateSequenceNumber => 46,
            Self::InvalidProducerEpoch => 47,
            Self::InvalidTxnState => 48,
            Self::InvalidProducerIdMapping => 49,
            Self::InvalidTransactionTimeout => 50,
            Self::ConcurrentTransactions => 51,
            Self::TransactionCoordinatorFenced => 52,
            Self::TransactionalIdAuthorizationFailed => 53,
            Self::SecurityDisabled => 54,
            Self::OperationNotAttempted => 55,
            Self::KafkaStorageError => 56,
            Self::LogDirNotFound => 57,
            Self::SaslAuthenticationFailed => 58,
            Self::UnknownProducerId => 59,
            Self::ReassignmentInProgress => 60,
            Self::DelegationTokenAuthDisabled => 61,
            Self::DelegationTokenNotFound => 62,
            Self::DelegationTokenOwnerMismatch => 63,
            Self::DelegationTokenRequestNotAllowed => 64,
            Self::DelegationTokenAuthorizationFailed => 65,
            Self::DelegationTokenExpired => 66,
            Self::InvalidPrincipalType => 67,
            Self::NonEmptyGroup => 68,
            Self::GroupIdNotFound => 69,
            Self::FetchSessionIdNotFound => 70,
            Self::InvalidFetchSessionEpoch => 71,
            Self::ListenerNotFound => 72,
            Self::TopicDeletionDisabled => 73,
            Self::FencedLeaderEpoch => 74,
            Self::UnknownLeaderEpoch => 75,
            Self::UnsupportedCompressionType => 76,
            Self::StaleBrokerEpoch => 77,
            Self::OffsetNotAvailable => 78,
            Self::MemberIdRequired => 79,
            Self::PreferredLeaderNotAvailable => 80,
            Self::GroupMaxSizeReached => 81,
            Self::FencedInstanceId => 82,
            Self::EligibleLeadersNotAvailable => 83,
            Self::ElectionNotNeeded => 84,
            Self::NoReassignmentInProgress => 85,
            Self::GroupSubscribedToTopic => 86,
            Self::InvalidRecord => 87,
            Self::UnstableOffsetCommit => 88,
            Self::ThrottlingQuotaExceeded => 89,
            Self::ProducerFenced => 90,
            Self::ResourceNotFound => 91,
            Self::DuplicateResource => 92,
            Self::UnacceptableCredential => 93,
            Self::InconsistentVoterSet => 94,
            Self::InvalidUpdateVersion => 95,
            Self::FeatureUpdateFailed => 96,
            Self::PrincipalDeserializationFailure => 97,
            Self::SnapshotNotFound => 98,
            Self::PositionOutOfRange => 99,
            Self::UnknownTopicId => 100,
            Self::DuplicateBrokerRegistration => 101,
            Self::BrokerIdNotRegistered => 102,
            Self::InconsistentTopicId => 103,
            Self::InconsistentClusterId => 104,
            Self::TransactionalIdNotFound => 105,
            Self::FetchSessionTopicIdError => 106,
            Self::IneligibleReplica => 107,
            Self::NewLeaderElected => 108,
            Self::OffsetMovedToTieredStorage => 109,
            Self::FencedMemberEpoch => 110,
            Self::UnreleasedInstanceId => 111,
            Self::UnsupportedAssignor => 112,
            Self::StaleMemberEpoch => 113,
            Self::MismatchedEndpointType => 114,
            Self::UnsupportedEndpointType => 115,
            Self::UnknownControllerId => 116,
            Self::UnknownSubscriptionId => 117,
            Self::TelemetryTooLarge => 118,
            Self::InvalidRegistration => 119,
            Self::TransactionAbortable => 120,
            Self::InvalidRecordState => 121,
            Self::ShareSessionNotFound => 122,
            Self::InvalidShareSessionEpoch => 123,
            Self::FencedStateEpoch => 124,
            Self::InvalidVoterKey => 125,
            Self::DuplicateVoter => 126,
            Self::VoterNotFound => 127,
            Self::InvalidRegularExpression => 128,
            Self::RebootstrapRequired => 129,
            Self::StreamsInvalidTopology => 130,
            Self::StreamsInvalidTopologyEpoch => 131,
            Self::StreamsTopologyFenced => 132,
            Self::ShareSessionLimitReached => 133,
            Self::Unknown(c) => c,
        }
    }

    /// Kafka's name for the code (`UNKNOWN_TOPIC_OR_PARTITION`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::UnknownServerError => "UNKNOWN_SERVER_ERROR",
            Self::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            Self::CorruptMessage => "CORRUPT_MESSAGE",
            Self::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            Self::InvalidFetchSize => "INVALID_FETCH_SIZE",
            Self::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            Self::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            Self::RequestTimedOut => "REQUEST_TIMED_OUT",
            Self::BrokerNotAvailable => "BROKER_NOT_AVAILABLE",
            Self::ReplicaNotAvailable => "REPLICA_NOT_AVAILABLE",
            Self::MessageTooLarge => "MESSAGE_TOO_LARGE",
            Self::StaleControllerEpoch => "STALE_CONTROLLER_EPOCH",
            Self::OffsetMetadataTooLarge => "OFFSET_METADATA_TOO_LARGE",
            Self::NetworkException => "NETWORK_EXCEPTION",
            Self::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            Self::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            Self::NotCoordinator => "NOT_COORDINATOR",
            Self::InvalidTopicException => "INVALID_TOPIC_EXCEPTION",
            Self::RecordListTooLarge => "RECORD_LIST_TOO_LARGE",
            Self::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            Self::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            Self::InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            Self::IllegalGeneration => "ILLEGAL_GENERATION",
            Self::InconsistentGroupProtocol => "INCONSISTENT_GROUP_PROTOCOL",
            Self::InvalidGroupId => "INVALID_GROUP_ID",
            Self::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            Self::InvalidSessionTimeout => "INVALID_SESSION_TIMEOUT",
            Self::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            Self::InvalidCommitOffsetSize => "INVALID_COMMIT_OFFSET_SIZE",
            Self::TopicAuthorizationFailed => "TOPIC_AUTHORIZATION_FAILED",
            Self::GroupAuthorizationFailed => "GROUP_AUTHORIZATION_FAILED",
            Self::ClusterAuthorizationFailed => "CLUSTER_AUTHORIZATION_FAILED",
            Self::InvalidTimestamp => "INVALID_TIMESTAMP",
            Self::UnsupportedSaslMechanism => "UNSUPPORTED_SASL_MECHANISM",
            Self::IllegalSaslState => "ILLEGAL_SASL_STATE",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            Self::InvalidPartitions => "INVALID_PARTITIONS",
            Self::InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            Self::InvalidReplicaAssignment => "INVALID_REPLICA_ASSIGNMENT",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::NotController => "NOT_CONTROLLER",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::UnsupportedForMessageFormat => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            Self::PolicyViolation => "POLICY_VIOLATION",
            Self::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            Self::DuplicateSequenceNumber => "DUPLICATE_SEQUENCE_NUMBER",
            Self::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            Self::InvalidTxnState => "INVALID_TXN_STATE",
            Self::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            Self::InvalidTransactionTimeout => "INVALID_TRANSACTION_TIMEOUT",
            Self::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            Self::TransactionCoordinatorFenced => "TRANSACTION_COORDINATOR_FENCED",
            Self::TransactionalIdAuthorizationFailed => "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
            Self::SecurityDisabled => "SECURITY_DISABLED",
            Self::OperationNotAttempted => "OPERATION_NOT_ATTEMPTED",
            Self::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            Self::LogDirNotFound => "LOG_DIR_NOT_FOUND",
            Self::SaslAuthenticationFailed => "SASL_AUTHENTICATION_FAILED",
            Self::UnknownProducerId => "UNKNOWN_PRODUCER_ID",
            Self::ReassignmentInProgress => "REASSIGNMENT_IN_PROGRESS",
            Self::DelegationTokenAuthDisabled => "DELEGATION_TOKEN_AUTH_DISABLED",
            Self::DelegationTokenNotFound => "DELEGATION_TOKEN_NOT_FOUND",
            Self::DelegationTokenOwnerMismatch => "DELEGATION_TOKEN_OWNER_MISMATCH",
            Self::DelegationTokenRequestNotAllowed => "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
            Self::DelegationTokenAuthorizationFailed => "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
            Self::DelegationTokenExpired => "DELEGATION_TOKEN_EXPIRED",
            Self::InvalidPrincipalType => "INVALID_PRINCIPAL_TYPE",
            Self::NonEmptyGroup => "NON_EMPTY_GROUP",
            Self::GroupIdNotFound => "GROUP_ID_NOT_FOUND",
            Self::FetchSessionIdNotFound => "FETCH_SESSION_ID_NOT_FOUND",
            Self::InvalidFetchSessionEpoch => "INVALID_FETCH_SESSION_EPOCH",
            Self::ListenerNotFound => "LISTENER_NOT_FOUND",
            Self::TopicDeletionDisabled => "TOPIC_DELETION_DISABLED",
            Self::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            Self::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            Self::UnsupportedCompressionType => "UNSUPPORTED_COMPRESSION_TYPE",
            Self::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            Self::OffsetNotAvailable => "OFFSET_NOT_AVAILABLE",
            Self::MemberIdRequired => "MEMBER_ID_REQUIRED",
            Self::PreferredLeaderNotAvailable => "PREFERRED_LEADER_NOT_AVAILABLE",
            Self::GroupMaxSizeReached => "GROUP_MAX_SIZE_REACHED",
            Self::FencedInstanceId => "FENCED_INSTANCE_ID",
            Self::EligibleLeadersNotAvailable => "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            Self::ElectionNotNeeded => "ELECTION_NOT_NEEDED",
            Self::NoReassignmentInProgress => "NO_REASSIGNMENT_IN_PROGRESS",
            Self::GroupSubscribedToTopic => "GROUP_SUBSCRIBED_TO_TOPIC",
            Self::InvalidRecord => "INVALID_RECORD",
            Self::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            Self::ThrottlingQuotaExceeded => "THROTTLING_QUOTA_EXCEEDED",
            Self::ProducerFenced => "PRODUCER_FENCED",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::DuplicateResource => "DUPLICATE_RESOURCE",
            Self::UnacceptableCredential => "UNACCEPTABLE_CREDENTIAL",
            Self::InconsistentVoterSet => "INCONSISTENT_VOTER_SET",
            Self::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            Self::FeatureUpdateFailed => "FEATURE_UPDATE_FAILED",
            Self::PrincipalDeserializationFailure => "PRINCIPAL_DESERIALIZATION_FAILURE",
            Self::SnapshotNotFound => "SNAPSHOT_NOT_FOUND",
            Self::PositionOutOfRange => "POSITION_OUT_OF_RANGE",
            Self::UnknownTopicId => "UNKNOWN_TOPIC_ID",
            Self::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            Self::BrokerIdNotRegistered => "BROKER_ID_NOT_REGISTERED",
            Self::InconsistentTopicId => "INCONSISTENT_TOPIC_ID",
            Self::InconsistentClusterId => "INCONSISTENT_CLUSTER_ID",
            Self::TransactionalIdNotFound => "TRANSACTIONAL_ID_NOT_FOUND",
            Self::FetchSessionTopicIdError => "FETCH_SESSION_TOPIC_ID_ERROR",
            Self::IneligibleReplica => "INELIGIBLE_REPLICA",
            Self::NewLeaderElected => "NEW_LEADER_ELECTED",
            Self::OffsetMovedToTieredStorage => "OFFSET_MOVED_TO_TIERED_STORAGE",
            Self::FencedMemberEpoch => "FENCED_MEMBER_EPOCH",
            Self::UnreleasedInstanceId => "UNRELEASED_INSTANCE_ID",
            Self::UnsupportedAssignor => "UNSUPPORTED_ASSIGNOR",
            Self::StaleMemberEpoch => "STALE_MEMBER_EPOCH",
            Self::MismatchedEndpointType => "MISMATCHED_ENDPOINT_TYPE",
            Self::UnsupportedEndpointType => "UNSUPPORTED_ENDPOINT_TYPE",
            Self::UnknownControllerId => "UNKNOWN_CONTROLLER_ID",
            Self::UnknownSubscriptionId => "UNKNOWN_SUBSCRIPTION_ID",
            Self::TelemetryTooLarge => "TELEMETRY_TOO_LARGE",
            Self::InvalidRegistration => "INVALID_REGISTRATION",
            Self::TransactionAbortable => "TRANSACTION_ABORTABLE",
            Self::InvalidRecordState => "INVALID_RECORD_STATE",
            Self::ShareSessionNotFound => "SHARE_SESSION_NOT_FOUND",
            Self::InvalidShareSessionEpoch => "INVALID_SHARE_SESSION_EPOCH",
            Self::FencedStateEpoch => "FENCED_STATE_EPOCH",
            Self::InvalidVoterKey => "INVALID_VOTER_KEY",
            Self::DuplicateVoter => "DUPLICATE_VOTER",
            Self::VoterNotFound => "VOTER_NOT_FOUND",
            Self::InvalidRegularExpression => "INVALID_REGULAR_EXPRESSION",
            Self::RebootstrapRequired => "REBOOTSTRAP_REQUIRED",
            Self::StreamsInvalidTopology => "STREAMS_INVALID_TOPOLOGY",
            Self::StreamsInvalidTopologyEpoch => "STREAMS_INVALID_TOPOLOGY_EPOCH",
            Self::StreamsTopologyFenced => "STREAMS_TOPOLOGY_FENCED",
            Self::ShareSessionLimitReached => "SHARE_SESSION_LIMIT_REACHED",
            Self::Unknown(_) => "UNKNOWN",
        }
    }

    /// Whether the broker marks the error retriable (the protocol guide's
    /// "Retriable" column). Unknown codes are not retriable.
    pub const fn is_retriable(self) -> bool {
        matches!(
            self,
            Self::CorruptMessage
                | Self::UnknownTopicOrPartition
                | Self::LeaderNotAvailable
                | Self::NotLeaderOrFollower
                | Self::RequestTimedOut
                | Self::ReplicaNotAvailable
                | Self::NetworkException
                | Self::CoordinatorLoadInProgress
                | Self::CoordinatorNotAvailable
                | Self::NotCoordinator
                | Self::NotEnoughReplicas
                | Self::NotEnoughReplicasAfterAppend
                | Self::NotController
                | Self::KafkaStorageError
                | Self::FetchSessionIdNotFound
                | Self::InvalidFetchSessionEpoch
                | Self::ListenerNotFound
                | Self::FencedLeaderEpoch
                | Self::UnknownLeaderEpoch
                | Self::OffsetNotAvailable
                | Self::PreferredLeaderNotAvailable
                | Self::EligibleLeadersNotAvailable
                | Self::ElectionNotNeeded
                | Self::UnstableOffsetCommit
                | Self::ThrottlingQuotaExceeded
                | Self::UnknownTopicId
                | Self::InconsistentTopicId
                | Self::FetchSessionTopicIdError
                | Self::ShareSessionNotFound
                | Self::InvalidShareSessionEpoch
                | Self::ShareSessionLimitReached
        )
    }

    /// Whether this is an error at all.
    pub const fn is_error(self) -> bool {
        !matches!(self, Self::None)
    }

    /// How a producer treats the code: [`ErrorClass::Fatal`] for errors
    /// after which the producer instance cannot continue (fencing, cluster
    /// authorisation, protocol mismatch, SASL failure), else retriable or
    /// permanent by [`Self::is_retriable`].
    pub const fn class(self) -> ErrorClass {
        match self {
            Self::None => ErrorClass::None,

            Self::ClusterAuthorizationFailed
            | Self::IllegalSaslState
            | Self::InvalidProducerIdMapping
            | Self::InvalidTxnState
            | Self::ProducerFenced
            | Self::SaslAuthenticationFailed
            | Self::TransactionCoordinatorFenced
            | Self::TransactionalIdAuthorizationFailed
            | Self::UnsupportedForMessageFormat
            | Self::UnsupportedSaslMechanism
            | Self::UnsupportedVersion => ErrorClass::Fatal,
            _ if self.is_retriable() => ErrorClass::Retriable,
            _ => ErrorClass::Permanent,
        }
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> Self {
        Self::from_code(code)
    }
}

impl From<ErrorCode> for i16 {
    fn from(e: ErrorCode) -> Self {
        e.code()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips() {
        for code in -1..=200i16 {
            let e = ErrorCode::from_code(code);
            assert_eq!(e.code(), code);
            if !matches!(e, ErrorCode::Unknown(_)) {
                assert_ne!(e.name(), "UNKNOWN", "code {code}");
            }
        }
        assert_eq!(ErrorCode::from_code(0), ErrorCode::None);
        assert_eq!(ErrorCode::from_code(9999), ErrorCode::Unknown(9999));
    }

    #[test]
    fn classification_of_producer_errors() {
        assert_eq!(ErrorCode::from_code(6).class(), ErrorClass::Retriable);
        assert_eq!(
            ErrorCode::NotLeaderOrFollower.name(),
            "NOT_LEADER_OR_FOLLOWER"
        );
        assert_eq!(ErrorCode::OutOfOrderSequenceNumber.code(), 45);
        assert_eq!(ErrorCode::DuplicateSequenceNumber.code(), 46);
        assert_eq!(ErrorCode::InvalidProducerEpoch.code(), 47);
        assert_eq!(ErrorCode::UnknownProducerId.code(), 59);
        assert_eq!(ErrorCode::MessageTooLarge.class(), ErrorClass::Permanent);
        assert_eq!(ErrorCode::ProducerFenced.class(), ErrorClass::Fatal);
        assert_eq!(ErrorCode::Unknown(-42).class(), ErrorClass::Permanent);
    }

    #[test]
    fn agrees_with_reference_table() {
        for code in -1..=200i16 {
            let ours = ErrorCode::from_code(code);
            match kafka_protocol::error::ResponseError::try_from_code(code) {
                None => assert_eq!(ours, ErrorCode::None),
                Some(kafka_protocol::error::ResponseError::Unknown(_)) => {
                    assert!(matches!(ours, ErrorCode::Unknown(_)), "code {code}")
                }
                Some(theirs) => {
                    assert_eq!(ours.is_retriable(), theirs.is_retriable(), "code {code}");
                    assert_ne!(ours.name(), "UNKNOWN");
                }
            }
        }
    }
}
