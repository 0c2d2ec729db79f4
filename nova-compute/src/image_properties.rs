//! Which of an image's properties a server shows as its own: Nova's
//! "standard" image properties, those `ImageMetaProps` knows. Nova copies
//! every property of the image a server is built (or rebuilt) from into
//! the instance's system metadata (`nova/utils.py`,
//! `get_system_metadata_from_image`), and from 2.98 the server view shows
//! those of them this list names (`nova/api/openstack/compute/views/servers.py`,
//! `_get_image`). nova-rs keeps only those, in
//! [`ServerDetails::image_properties`](crate::ServerDetails::image_properties).

use std::collections::BTreeMap;

use crate::Image;

/// The names of `ImageMetaProps.fields` and of the legacy names in
/// `ImageMetaProps._legacy_property_map`, sorted: taken from
/// openstack/nova's `nova/objects/image_meta.py` at commit
/// 00a030403f672b975364c855b7d25b40ef83e757.
pub(crate) const STANDARD_IMAGE_PROPERTIES: &[&str] = &[
    "architecture",
    "auto_disk_config",
    "bdm_v2",
    "bittorrent",
    "block_device_mapping",
    "cache_in_nova",
    "hw_architecture",
    "hw_auto_disk_config",
    "hw_boot_menu",
    "hw_cdrom_bus",
    "hw_cpu_cores",
    "hw_cpu_max_cores",
    "hw_cpu_max_sockets",
    "hw_cpu_max_threads",
    "hw_cpu_policy",
    "hw_cpu_realtime_mask",
    "hw_cpu_sockets",
    "hw_cpu_thread_policy",
    "hw_cpu_threads",
    "hw_device_id",
    "hw_disk_bus",
    "hw_disk_type",
    "hw_emulation_architecture",
    "hw_ephemeral_encryption",
    "hw_ephemeral_encryption_format",
    "hw_ephemeral_encryption_secret_uuid",
    "hw_firmware_stateless",
    "hw_firmware_type",
    "hw_floppy_bus",
    "hw_input_bus",
    "hw_ipxe_boot",
    "hw_locked_memory",
    "hw_machine_type",
    "hw_maxphysaddr_bits",
    "hw_maxphysaddr_mode",
    "hw_mem_encryption",
    "hw_mem_encryption_model",
    "hw_mem_page_size",
    "hw_numa_cpus",
    "hw_numa_mem",
    "hw_numa_nodes",
    "hw_pci_numa_affinity_policy",
    "hw_pmu",
    "hw_pointer_model",
    "hw_qemu_guest_agent",
    "hw_redirected_usb_ports",
    "hw_rescue_bus",
    "hw_rescue_device",
    "hw_rng_model",
    "hw_scsi_model",
    "hw_serial_port_count",
    "hw_sound_model",
    "hw_time_hpet",
    "hw_tpm_model",
    "hw_tpm_version",
    "hw_usb_model",
    "hw_video_model",
    "hw_video_ram",
    "hw_vif_model",
    "hw_vif_multiqueue_enabled",
    "hw_viommu_model",
    "hw_virtio_packed_ring",
    "hw_vm_mode",
    "hw_watchdog_action",
    "hypervisor_type",
    "hypervisor_version_requires",
    "img_bdm_v2",
    "img_bittorrent",
    "img_block_device_mapping",
    "img_cache_in_nova",
    "img_compression_level",
    "img_config_drive",
    "img_hide_hypervisor_id",
    "img_hv_requested_version",
    "img_hv_type",
    "img_linked_clone",
    "img_mappings",
    "img_owner_id",
    "img_root_device_name",
    "img_signature",
    "img_signature_certificate_uuid",
    "img_signature_hash_method",
    "img_signature_key_type",
    "img_use_agent",
    "img_version",
    "ipxe_boot",
    "mappings",
    "os_admin_user",
    "os_command_line",
    "os_distro",
    "os_require_quiesce",
    "os_secure_boot",
    "os_skip_agent_inject_files_at_boot",
    "os_skip_agent_inject_ssh",
    "os_type",
    "owner_id",
    "root_device_name",
    "traits_required",
    "vm_mode",
    "vmware_disktype",
    "vmware_image_version",
    "vmware_linked_clone",
    "vmware_ostype",
    "xenapi_device_id",
    "xenapi_image_compression_level",
    "xenapi_skip_agent_inject_files_at_boot",
    "xenapi_skip_agent_inject_ssh",
    "xenapi_use_agent",
];

/// Properties Nova never copies into system metadata (`SM_SKIP_KEYS`):
/// too large for its column. Some are standard names, so a server never
/// shows them.
const SKIPPED: &[&str] = &[
    "block_device_mapping",
    "img_block_device_mapping",
    "img_mappings",
    "mappings",
];

/// The longest value Nova keeps in system metadata, in bytes
/// (`safe_truncate(str(value), 255)`).
const MAX_VALUE_BYTES: usize = 255;

/// The properties of `image` a server built or rebuilt from it shows at
/// 2.98: its standard ones, each value cut to 255 bytes as Nova stores it.
pub(crate) fn standard_properties(image: &Image) -> BTreeMap<String, String> {
    image
        .properties
        .iter()
        .filter(|(key, _)| {
            STANDARD_IMAGE_PROPERTIES
                .binary_search(&key.as_str())
                .is_ok()
                && !SKIPPED.contains(&key.as_str())
        })
        .map(|(key, value)| (key.clone(), truncated(value).to_owned()))
        .collect()
}

/// `value` cut to at most [`MAX_VALUE_BYTES`] bytes, at a character
/// boundary.
fn truncated(value: &str) -> &str {
    let mut end = value.len().min(MAX_VALUE_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_sorted_and_unique_so_a_binary_search_finds_them() {
        assert!(STANDARD_IMAGE_PROPERTIES.windows(2).all(|w| w[0] < w[1]));
        assert!(SKIPPED
            .iter()
            .all(|k| STANDARD_IMAGE_PROPERTIES.contains(k)));
    }

    #[test]
    fn only_standard_properties_are_kept_and_long_values_are_cut() {
        let mut image = Image::cirros();
        for (key, value) in [
            ("os_distro", "cirros".to_owned()),
            ("architecture", "x86_64".to_owned()),
            ("my_property", "mine".to_owned()),
            ("mappings", "[]".to_owned()),
            ("os_command_line", "é".repeat(200)),
        ] {
            image.properties.insert(key.to_owned(), value);
        }
        let kept = standard_properties(&image);
        assert_eq!(
            kept.keys().map(String::as_str).collect::<Vec<_>>(),
            ["architecture", "os_command_line", "os_distro"]
        );
        // 127 two-byte characters: 254 bytes, the 128th would pass 255.
        assert_eq!(kept["os_command_line"], "é".repeat(127));
    }
}
