"""Channels (where leads come from), their source keys and campaigns, and what they cost: spend typed
in or imported from the ad platforms' exports, and people tagged by hand with the channel that
brought them."""
