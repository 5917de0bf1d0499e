"""Helpers shared by the test suite: free ports, subprocess servers, the trained model."""
