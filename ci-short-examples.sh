step "short one-task examples: each must exit 0 and leave nothing on the host"
short_examples=(bridge_ports vxlan_flood policy_routing ecmp_weights neigh_proxy watch_routes
  route_get batch_errors macvlan_pod)
short_before=$(ip netns list 2>/dev/null | sort; ip -o link show | sed -E 's/^[0-9]+: //; s/ state .*//')
for ex in "${short_examples[@]}"; do
  echo "--- $ex"
  if ! timeout 120 cargo run --release --quiet --example "$ex"; then
    echo "error: example $ex failed" >&2
    exit 1
  fi
done
short_after=$(ip netns list 2>/dev/null | sort; ip -o link show | sed -E 's/^[0-9]+: //; s/ state .*//')
if [ "$short_before" != "$short_after" ]; then
  echo "error: the short examples changed the host's namespaces or links:" >&2
  diff <(echo "$short_before") <(echo "$short_after") >&2 || true
  exit 1
fi
