"""face_perception: face detection with gender and emotion classification for ROS 2."""
